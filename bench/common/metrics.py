"""Reading plenary's ``/metrics`` with prometheus-client's own parser: every sample, keyed as
the text names it (``name{label="value",...}``, labels sorted)."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def read_metrics(url: str) -> dict[str, float]:
    """Every sample of the server at ``url`` now."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples
