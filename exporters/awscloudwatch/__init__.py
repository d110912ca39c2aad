"""The ``awscloudwatch`` exporter: metrics to CloudWatch through PutMetricData."""

from exporters.awscloudwatch.exporter import AwsCloudWatchConfig, AwsCloudWatchExporter, factory

__all__ = ["AwsCloudWatchConfig", "AwsCloudWatchExporter", "factory"]
