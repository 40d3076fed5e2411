"""Reading plenary's ``/metrics`` as a Prometheus server would: with prometheus-client's own
parser, never by matching lines."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

SampleKey = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Scrape:
    types: dict[str, str]  # family name (a counter's without "_total") to its type
    samples: dict[SampleKey, float]

    def value(self, sample: str, **labels: str) -> float:
        """One sample's value: KeyError if the scrape has no such sample."""
        return self.samples[sample, frozenset(labels.items())]

    def values(self, sample: str, label: str) -> dict[str, float]:
        """Every sample of that name, by the value of one of its labels."""
        return {
            dict(labels)[label]: value
            for (name, labels), value in self.samples.items()
            if name == sample
        }


def parse(text: str) -> Scrape:
    types: dict[str, str] = {}
    samples: dict[SampleKey, float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"{key} twice"
            samples[key] = sample.value
    return Scrape(types, samples)


async def scrape(base: str) -> Scrape:
    async with aiohttp.ClientSession() as http, http.get(base + "/metrics") as response:
        assert response.status == 200
        return parse(await response.text())


def scrape_now(base: str) -> Scrape:
    """The same, for a test without an event loop."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        return parse(response.read().decode())
