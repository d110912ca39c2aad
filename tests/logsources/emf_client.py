"""Sends EMF events with the real aws-embedded-metrics client in agent mode (run as a subprocess).

    python emf_client.py COUNT default|custom

The endpoint, log group and stream come from AWS_EMF_* variables, as in production.
"""

import asyncio
import sys

from aws_embedded_metrics.logger.metrics_logger_factory import create_metrics_logger


async def main(count: int, dimensions: str) -> None:
    for i in range(count):
        metrics = create_metrics_logger()
        metrics.set_namespace("FathomTest")
        if dimensions == "custom":
            metrics.set_dimensions({"Route": "/pay", "Status": str(200 + i % 2)})
        metrics.put_metric("Latency", float(i), "Milliseconds")
        metrics.set_property("seq", i)
        await metrics.flush()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
