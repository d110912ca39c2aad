"""The ``awsemf`` exporter: metrics to CloudWatch Logs in the embedded metric format."""

from exporters.awsemf.config import AwsEmfConfig, LabelMatcher, MetricDeclaration
from exporters.awsemf.exporter import AwsEmfExporter, factory

__all__ = ["AwsEmfConfig", "AwsEmfExporter", "LabelMatcher", "MetricDeclaration", "factory"]
