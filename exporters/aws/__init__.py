"""Plumbing shared by the CloudWatch exporters: clients, errors, rules, translation."""

from exporters.aws.config import AwsMetricsExporterConfig, ResourceToTelemetryConfig, resolve_namespace, routed
from exporters.aws.datums import Datum, Distribution, StatisticSet, TranslateOptions, Translator
from exporters.aws.delta import DeltaTracker
from exporters.aws.errors import classify
from exporters.aws.pending import PendingRequests
from exporters.aws.session import AwsClients

__all__ = [
    "AwsClients", "AwsMetricsExporterConfig", "Datum", "DeltaTracker", "Distribution", "PendingRequests",
    "ResourceToTelemetryConfig", "StatisticSet", "TranslateOptions", "Translator", "classify",
    "resolve_namespace", "routed",
]
