"""The questions bench's report: rates, latencies beside the baseline, losses, the targets."""

from __future__ import annotations

import math

from bench.common.percentiles import percentile
from bench.questions.figures import Figures
from bench.status.report import ms

ASKS_TARGET, VOTES_TARGET, MODERATOR_P99_TARGET = 500.0, 5000.0, 0.200


def spread(samples: list[float]) -> str:
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    return f"p50 {ms(p50)} ms, p99 {ms(p99)} ms, max {ms(max(samples, default=math.nan))} ms"


def cpu(figures: Figures, phase: str, server_name: str = "plenary") -> str:
    server, worker = figures.cpu.get(phase, (math.nan, math.nan))
    return f"CPU: {server_name} {server:.0%}, attendees {worker:.0%} of a core"


def report(figures: Figures) -> None:
    opts = figures.opts
    print(f"\nconnected: {figures.connected}")

    print(
        f"asks:  {figures.accepted_asks} accepted at {figures.asks_per_second:.0f}/s"
        f" (offered {opts.ask_rate:g}/s for {opts.seconds:g} s, {figures.asks_unsent} never sent),"
        f" refused {dict(figures.ask_errors)}"
        f"; ack {spread(figures.ask_latencies)}; {cpu(figures, 'asks')}"
    )
    print(
        f"  to the moderator: {spread(figures.to_moderator)};"
        f" never announced {figures.unseen_by_moderator}, not listed {figures.not_listed}"
    )
    voted = figures.voted

    print(
        f"votes: {voted.get('accepted', 0)} accepted at {figures.votes_per_second:.0f}/s"
        f" (offered {opts.vote_rate:g}/s on {opts.voted} question(s),"
        f" {voted.get('unsent', 0)} never sent),"
        f" refused {voted.get('errors', {})}; ack {spread(voted.get('latencies', []))};"
        f" {cpu(figures, 'votes')}"
    )
    bare = figures.bare_voted
    if bare:
        print(
            f"  the same clients and offer to a bare python-socketio server (acks, stores"
            f" nothing): {bare.get('accepted', 0)} at {figures.bare_votes_per_second:.0f}/s;"
            f" ack {spread(bare.get('latencies', []))}; {cpu(figures, 'bare votes', 'bare server')}"
        )
    mismatches = figures.vote_mismatches()
    print(f"  final counts: {'all equal the accepted votes' if voted and not mismatches else ''}")
    for line in mismatches:
        print(f"    {line}")
    approvals, broadcasts = figures.approvals, figures.broadcasts
    print(f"approval to {opts.clients} attendees ({len(approvals.rows)} events) vs bare broadcast:")
    for name, events in (("plenary", approvals), ("baseline", broadcasts)):
        print(
            f"  {name:<8} last client {spread(events.last_client())};"
            f" all pairs {spread(events.pairs())}; missed {events.missed}"
        )
    for line in figures.machine:
        print(f"machine {line}")
    for line in figures.notes:
        print(f"note: {line}")
    print(targets(figures))


def targets(figures: Figures) -> str:
    last = percentile(figures.approvals.last_client(), 0.99)
    base = percentile(figures.broadcasts.last_client(), 0.99)
    checks = [
        f"questions/s {figures.asks_per_second:.0f} >= {ASKS_TARGET:g}:"
        f" {figures.asks_per_second >= ASKS_TARGET}",
        f"votes/s {figures.votes_per_second:.0f} >= {VOTES_TARGET:g}:"
        f" {figures.votes_per_second >= VOTES_TARGET}"
        f" (bare server {figures.bare_votes_per_second:.0f}/s)",
        f"moderator p99 {ms(percentile(figures.to_moderator, 0.99))} ms <= 200:"
        f" {percentile(figures.to_moderator, 0.99) <= MODERATOR_P99_TARGET}",
        f"approval p99 / broadcast p99 {last / base if base else math.nan:.2f}",
        f"none lost: {figures.nothing_lost()}",
    ]
    return "targets: " + "; ".join(checks)
