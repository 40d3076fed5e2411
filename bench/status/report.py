"""The status bench's report: the latency table, the details of each N, the issue's target."""

from __future__ import annotations

import math

from bench.common.percentiles import percentile
from bench.status.figures import EventSet, Trial
from bench.status.servers import SHUTDOWN_GRACE

TARGET_CLIENTS, TARGET_P99_MS = 1000, 1000.0


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.0f}"


def latency_row(n: int, kind: str, plenary: EventSet, base: EventSet, memory: str) -> str:
    last, base_last, pairs = plenary.last_client(), base.last_client(), plenary.pairs()
    p50, p99 = percentile(last, 0.5), percentile(last, 0.99)
    b50, b99 = percentile(base_last, 0.5), percentile(base_last, 0.99)
    cells = [
        f"{n:>5} {kind:<9} {len(plenary.rows):>3}",
        *(f"{ms(v):>5}" for v in (p50, p99, max(last, default=math.nan))),
        "|",
        *(f"{ms(v):>5}" for v in (percentile(pairs, 0.5), percentile(pairs, 0.99))),
        "|",
        *(f"{ms(v):>5}" for v in (b50, b99)),
        "|",
        *(f"{a / b:>4.1f}x" if b else "    -" for a, b in ((p50, b50), (p99, b99))),
        f"{plenary.missed:>6}",
        memory,
    ]
    return " ".join(cells)


def report(results: list[tuple[Trial, Trial]]) -> None:
    plenary_bytes, base_bytes = results[-1][0].payload_bytes, results[-1][1].payload_bytes
    print(
        "\nLatency, ms: to the LAST client per event (p50/p99/max over events); over all (client,"
        "\nevent) pairs; the same to the last client from a bare python-socketio broadcast of a"
        f"\nsame-size payload (room_state {plenary_bytes} B, baseline {base_bytes} B); the ratio"
        "\nplenary / baseline. RSS: server growth per connected client, KiB.\n"
    )
    print(
        "    N trigger    ev  last  last  last |   all   all |  base  base | ratio ratio"
        "  missed  RSS/conn KiB\n"
        "                      p50   p99   max |   p50   p99 |   p50   p99 |   p50   p99"
        "          plenary / base"
    )
    for plenary, base in results:
        memory = f"  {plenary.kib_per_connection:6.1f} / {base.kib_per_connection:.1f}"
        print(latency_row(plenary.n, "scheduled", plenary.scheduled, base.scheduled, memory))
        print(latency_row(plenary.n, "control", plenary.control, base.control, ""))
    print("\nDetails (ms unless stated)")
    for plenary, base in results:
        print(details(plenary, base))
    verdict(results)


def details(plenary: Trial, base: Trial) -> str:
    lag, ack, agenda = plenary.emit_lag, plenary.ack, plenary.agenda.last_client()
    lines = [
        f"  N={plenary.n}: connected {plenary.connected} (+{plenary.failed} failed) in "
        f"{plenary.connect_s:.1f} s (baseline {base.connect_s:.1f} s); server RSS "
        f"{plenary.rss_before / 2**20:.0f} -> {plenary.rss_after / 2**20:.0f} MiB "
        f"(baseline {base.rss_before / 2**20:.0f} -> {base.rss_after / 2**20:.0f} MiB)",
        f"    scheduled instant -> plenary builds the room_state: p50 {ms(percentile(lag, 0.5))}"
        f" max {ms(max(lag, default=math.nan))}; transitions before the clients were ready, "
        f"not counted: {plenary.skipped}; still fanning out when the next was due: "
        f"{plenary.scheduled.overlapping()} (baseline {base.scheduled.overlapping()})",
        f"    control ack p50 {ms(percentile(ack, 0.5))} max {ms(max(ack, default=math.nan))} "
        f"(baseline trigger ack p50 {ms(percentile(base.ack, 0.5))}); the agenda plenary "
        f"re-broadcasts after each control reaches the last client p50 "
        f"{ms(percentile(agenda, 0.5))} max {ms(max(agenda, default=math.nan))}",
        f"    CPU per control: server {ms(plenary.per_control(plenary.cpu))} (baseline "
        f"{ms(base.per_control(base.cpu))}), client workers "
        f"{ms(plenary.per_control(plenary.client_cpu))} (baseline "
        f"{ms(base.per_control(base.client_cpu))})",
        f"    plenary, SIGTERM to exit with the clients connected: {shutdown(plenary)}",
        f"    machine: {plenary.machine}",
    ]
    lines += [f"    plenary {note}" for note in plenary.notes]
    lines += [f"    baseline {note}" for note in base.notes]
    return "\n".join(lines)


def shutdown(trial: Trial) -> str:
    if trial.shutdown_s >= SHUTDOWN_GRACE:
        return f"over {SHUTDOWN_GRACE:g} s, killed"
    return f"{trial.shutdown_s:.1f} s"


def verdict(results: list[tuple[Trial, Trial]]) -> None:
    for plenary, _ in results:
        if plenary.n >= TARGET_CLIENTS:
            last = plenary.scheduled.last_client() + plenary.control.last_client()
            p99 = percentile(last, 0.99) * 1000
            ok = p99 < TARGET_P99_MS and not (plenary.scheduled.missed + plenary.control.missed)
            print(
                f"\nTarget (issue): {TARGET_CLIENTS} clients, p99 to the last client under "
                f"{TARGET_P99_MS:.0f} ms: N={plenary.n} p99 {p99:.0f} ms over "
                f"{len(last)} events -> {'MET' if ok else 'NOT MET'}"
            )


def progress(name: str, trial: Trial, per_event: bool) -> str:
    last = trial.scheduled.last_client() + trial.control.last_client()
    lines = [
        f"[{name} N={trial.n}] {trial.connected} connected in {trial.connect_s:.1f} s, "
        f"{len(last)} events, last-client p99 {ms(percentile(last, 0.99))} ms"
    ]
    if per_event:
        for kind, events in (("scheduled", trial.scheduled), ("control", trial.control)):
            for row in events.rows:
                got = [v for v in row if v is not None]
                spread = (min(got), percentile(got, 0.5), max(got)) if got else (math.nan,) * 3
                lines.append(f"    {kind:<9} first/median/last " + " / ".join(map(ms, spread)))
    return "\n".join(lines)
