"""The stage's part of the fan-out bench's report: its publishers, each source's loss and
delay, whether every slot carried the source the stage gave it, the programme mix for plain
players, and issue 14's targets."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from bench.fanout.bench import Bench, Phase, Step
from bench.fanout.report import Row, cell, log_problems, relay_line
from bench.fanout.stage_tap import LATE_SECONDS, TENTH
from bench.fanout.tap import KINDS

TARGET_VIEWERS, TARGET_P99_MS = 200, 5.0
SHORT_SINK = 0.99  # a sink that read less than this share of what the tapped viewers did

# The lane rows of stage_tap.Lane.row
KIND, SOURCE, IN_WINDOW, RECEIVED, SPAN, OCTETS, FRAMES, SWITCHES = range(8)


def stage_of(step: Step) -> dict[str, Any]:
    return dict(step.measured.get("stage", {}))


def source_loss(step: Step, source: int, kind: int) -> float:
    """Of the packets ``source`` sent in the window, the share no tapped viewer received."""
    stage = stage_of(step)
    viewers = stage.get("lanes", [])
    expected = stage["sent"][source][kind] * len(viewers)
    got = sum(
        lane[IN_WINDOW]
        for lanes in viewers
        for lane in lanes
        if lane[SOURCE] == source and lane[KIND] == kind
    )
    return 1 - got / expected if expected else math.nan


def added_p99(step: Step, name: str, kind: str) -> float:
    """A source's delay p99 through the relay less the direct pair's, in the same window."""
    relay = stage_of(step)["sources"][name][kind].get("p99")
    direct = step.measured["direct_delay"][kind].get("p99")
    return float(relay) - float(direct) if relay is not None and direct is not None else math.nan


def slot_mismatches(step: Step, placed: dict[str, Any]) -> list[str]:
    """Tapped viewers whose slots did not carry what the stage says: video m-line k the source
    with slot k, each on-stage source's sound on one audio m-line, nothing changing source."""
    names = stage_of(step)["names"]
    by_slot = {info["slot"]: name for name, info in placed.items() if info["slot"] is not None}
    heard = sorted(name for name, info in placed.items() if "audio" in info["kinds"])
    problems = []
    for number, lanes in enumerate(stage_of(step).get("lanes", [])):
        video = [lane for lane in lanes if lane[KIND] == 1]
        carried = [names[lane[SOURCE]] if lane[RECEIVED] else None for lane in video]
        expected = [by_slot.get(slot) for slot in range(len(video))]
        sounds = sorted(names[lane[SOURCE]] for lane in lanes if lane[KIND] == 0 and lane[RECEIVED])
        switched = sum(lane[SWITCHES] for lane in lanes)
        if carried != expected or sounds != heard or switched:
            problems.append(
                f"viewer {number}: video m-lines {carried} (stage: {expected}),"
                f" audio {sounds} (stage: {heard}), {switched} changes of source"
            )
    return problems


def sink_shortfall(step: Step) -> tuple[int, float, float]:
    """Sinks that read under ``SHORT_SINK`` of the tapped viewers' median; the least and the
    median a sink read, as shares of that median."""
    stage = stage_of(step)
    tapped = [sum(lane[RECEIVED] for lane in lanes) for lanes in stage.get("lanes", [])]
    sinks = stage.get("sinks", [])
    if not tapped or not sinks:
        return 0, math.nan, math.nan
    typical = statistics.median(tapped)
    shares = [count / typical for count in sinks] if typical else [0.0] * len(sinks)
    return sum(share < SHORT_SINK for share in shares), min(shares), statistics.median(shares)


def report_stage(bench: Bench, rows: dict[str, list[Row]]) -> None:
    stage = next((phase for phase in bench.phases if phase.name == "stage"), None)
    if stage is None or not stage.steps:
        return
    print()
    print("the stage: " + "; ".join(_publisher_lines(stage)))
    placed = stage.extra.get("stage", {})
    print(
        "  on stage after the panelists were brought on (control 'stage' over Socket.IO): "
        + ", ".join(f"{name} slot {info['slot']}" for name, info in placed.items())
        + f"; slots offered {stage.extra.get('slots')}"
    )
    _source_table(stage.steps[1:], placed)
    _programme(next((p for p in bench.phases if p.name == "programme"), None))
    _costs(rows)
    _verdicts(rows.get("stage", [])[1:], bench)


def _publisher_lines(stage: Phase) -> list[str]:
    lines = []
    for name, described in stage.extra.get("publishers", {}).items():
        spec = described["spec"]
        lines.append(
            f"{name} VP8 {spec['width']}x{spec['height']} {described['video_kbps']:.0f} kbps"
            f" (keyframe {described['keyframe_bytes'] // 1000} kB)"
            f" + Opus {described['audio_kbps']:.0f} kbps"
        )
    return lines


def _source_table(steps: Sequence[Step], placed: dict[str, Any]) -> None:
    print(
        "  viewers tapped sinks source      sent a/v pkts    loss a/v %"
        "   added p99 a/v ms   relay max a/v ms"
    )
    for step in steps:
        stage = stage_of(step)
        tapped, sinks = len(stage.get("lanes", [])), len(stage.get("sinks", []))
        for index, name in enumerate(stage["names"]):
            sent = stage["sent"][index]
            loss = [cell(source_loss(step, index, kind) * 100, ".2f", 6) for kind in (0, 1)]
            added = [cell(added_p99(step, name, kind), ".2f", 6) for kind in KINDS]
            most = [cell(_stat(stage, name, kind, "max"), ".1f", 6) for kind in KINDS]
            print(
                f"  {step.viewers:7d} {tapped:6d} {sinks:5d} {name:<11}"
                f" {sent[0]:6d}/{sent[1]:6d} {loss[0]}/{loss[1]}"
                f"   {added[0]}/{added[1]}   {most[0]}/{most[1]}"
            )
        short, least, typical = sink_shortfall(step)
        problems = slot_mismatches(step, placed)
        print(
            "          slots as the stage says: "
            + ("every tapped viewer" if not problems else f"{len(problems)} viewers differ")
            + f"; sinks short of the tapped viewers: {short} (least {cell(least * 100, '.1f', 0)}%,"
            f" median {cell(typical * 100, '.1f', 0)}%); packets on unknown SSRCs"
            f" {stage.get('unknown_ssrc', 0)}, of other types {stage.get('other_types') or 0}"
            + relay_line(step.relay)
        )
        for problem in problems[:3]:
            print(f"          {problem}")
        print("          " + late_line(step))


def late_line(step: Step) -> str:
    """In how many tenths of the window packets were over 5 ms late, and the worst tenths."""
    late = {int(tenth): count for tenth, count in stage_of(step).get("late", {}).items()}
    tenths = math.ceil(step.seconds / TENTH)
    if not late:
        return f"no packet over {LATE_SECONDS * 1000:g} ms late (sent to arrival)"
    worst = sorted(late.items(), key=lambda item: -item[1])[:3]
    return (
        f"packets over {LATE_SECONDS * 1000:g} ms late (sent to arrival): {sum(late.values())},"
        f" sent in {len(late)} of the window's {tenths} tenths of a second; the most in the"
        " tenths from " + ", ".join(f"{tenth * TENTH:.1f} s ({count})" for tenth, count in worst)
    )


def _stat(stage: dict[str, Any], name: str, kind: str, stat: str) -> float:
    value = stage["sources"][name][kind].get(stat)
    return float(value) if value is not None else math.nan


def _programme(programme: Phase | None) -> None:
    """Plain players: the mix's loss, rate and onset delay, the picture's loss and delay, and
    what the mix costs the server."""
    if programme is None or len(programme.steps) < 2:
        return
    print()
    print("the programme, for plain players (one audio and one video m-line):")
    print(
        "  step       players  CPU%  mix ms/s frames/s  mix loss%  mix pkt/s"
        "  mix onset p50/p99/max ms (n)   picture  loss%  added p99 ms"
    )
    for step in programme.steps:
        print("  " + _programme_line(step))
    for note in programme.notes:
        print(f"  {note}")
    timed = [_mix_share(step) for step in programme.steps if step.label == "plain"]
    if timed:
        print(
            f"  the mix, timed in the server (mixtimed.py): {statistics.median(timed) * 1000:.1f}"
            f" ms of CPU per second ({statistics.median(timed):.1%} of a core) per room, whatever"
            " the number of players (median of the steps with players)"
        )
    mix = mix_cost(programme.steps)
    if mix is not None:
        each, cost, lingering = mix
        print(
            f"  by the server's CPU: {cost * 1000:.1f} ms per second, the first player's step less"
            f" the idle one, less what one more player costs ({each * 1000:.2f} ms per second);"
            f" after every player left, {lingering * 1000:+.1f} ms per second against the idle"
            " step"
        )
    after = next((step for step in programme.steps if step.label == "after"), None)
    if after is not None and after.relay.get("mix_frames", 0) > 0:
        print(
            f"  after every player left, the mix went on making"
            f" {after.relay['mix_frames'] / after.seconds:.0f} frames a second"
            f" ({_mix_share(after) * 1000:.1f} ms of CPU per second) with nobody to hear them"
        )


def _programme_line(step: Step) -> str:
    stage = stage_of(step)
    share = step.server_cpu / step.seconds
    label = step.label or "idle"
    players = stage.get("plain_lanes", [])
    timed = f"{_mix_share(step) * 1000:8.1f} {step.relay.get('mix_frames', 0) / step.seconds:8.1f}"
    if not players:
        return f"{label:<10} {step.viewers:7d} {share * 100:5.1f} {timed}"
    mix = [lane for lanes in players for lane in lanes if lane[KIND] == 0]
    pictures = [lane for lanes in players for lane in lanes if lane[KIND] == 1]
    spans = sum(lane[SPAN] for lane in mix)
    mix_loss = 1 - sum(lane[RECEIVED] for lane in mix) / spans if spans else math.nan
    rate = sum(lane[RECEIVED] for lane in mix) / len(mix) / step.seconds
    onsets = stage["onsets"]
    names = stage["names"]
    shown = sorted({names[lane[SOURCE]] for lane in pictures if lane[SOURCE] >= 0})
    source = names.index(shown[0]) if len(shown) == 1 else -1
    expected = stage["sent"][source][1] * len(pictures) if source >= 0 else 0
    got = sum(lane[IN_WINDOW] for lane in pictures)
    picture_loss = 1 - got / expected if expected else math.nan
    added = added_p99(step, shown[0], "video") if len(shown) == 1 else math.nan
    onset = " /".join(cell(onsets.get(stat, math.nan), ".1f", 5) for stat in ("p50", "p99", "max"))
    return (
        f"{label:<10} {step.viewers:7d} {share * 100:5.1f} {timed}"
        f"   {cell(mix_loss * 100, '.2f', 6)}"
        f"   {rate:8.1f}   {onset} ({onsets['n']}, unmatched {onsets['unmatched']})"
        f"   {'+'.join(shown) or '-':<8} {cell(picture_loss * 100, '.2f', 5)}"
        f"  {cell(added, '.2f', 6)}"
        + (f"; {stage['unmixed']} packets of a source's own sound" if stage["unmixed"] else "")
    )


def _mix_share(step: Step) -> float:
    """The mixes' own CPU in the window, timed in the server, as a share of a core."""
    return step.relay.get("mix_seconds", math.nan) / step.seconds


def mix_cost(steps: Sequence[Step]) -> tuple[float, float, float] | None:
    """(each player's CPU, the mix's, what remains after every player left), in shares of a
    core, from the steps idle, one player, N players, after."""
    plain = [step for step in steps if step.label == "plain"]
    idle = next((step for step in steps if not step.label), None)
    after = next((step for step in steps if step.label == "after"), None)
    if idle is None or len(plain) < 2:
        return None
    share = [step.server_cpu / step.seconds for step in (idle, plain[0], plain[-1])]
    each = (share[2] - share[1]) / (plain[-1].viewers - plain[0].viewers)
    cost = share[1] - share[0] - each * plain[0].viewers
    lingering = after.server_cpu / after.seconds - share[0] if after else math.nan
    return each, cost, lingering


def _costs(rows: dict[str, list[Row]]) -> None:
    """The stage against one source, at the same number of viewers; each source's share."""
    single = {row.step.viewers: row for row in rows.get("plenary", [])[1:]}
    stage_rows = rows.get("stage", [])
    if len(stage_rows) < 2:
        return
    print()
    print("what the stage costs (plenary: one source, today's mode; same run):")
    idle_stage = stage_rows[0].step.server_cpu / stage_rows[0].step.seconds
    line = f"  without viewers: the three publishers {idle_stage:.1%} of a core"
    if rows.get("plenary"):
        idle_one = rows["plenary"][0].step.server_cpu / rows["plenary"][0].step.seconds
        line += f", the single one {idle_one:.1%}"
    print(line)
    for row in stage_rows[1:]:
        stage = stage_of(row.step)
        sent = [sum(counts) for counts in stage["sent"]]
        shares = [count / sum(sent) for count in sent] if sum(sent) else []
        per_source = ", ".join(
            f"{name} {row.per_viewer * share * 1000:.2f} ms ({count / row.step.seconds:.0f} pkt/s)"
            for name, share, count in zip(stage["names"], shares, sent, strict=True)
        )
        other = single.get(row.step.viewers)
        against = (
            f"; one source: {other.per_viewer * 1000:.2f} ms, {other.per_packet_us:.1f} us a packet"
            if other
            else ""
        )
        print(
            f"  {row.step.viewers:4d} viewers: {row.per_viewer * 1000:.2f} ms per viewer-second,"
            f" {row.per_packet_us:.1f} us a packet{against}; by each source's packets:"
            f" {per_source}"
        )


def _verdicts(stage_rows: Sequence[Row], bench: Bench) -> None:
    top = next((row for row in reversed(stage_rows) if row.step.viewers >= TARGET_VIEWERS), None)
    print()
    if top is None:
        print(f"issue 14's targets: not judged (no stage step of {TARGET_VIEWERS} viewers)")
        return
    added = max(top.added(kind, "p99") for kind in KINDS)
    short, _least, _typical = sink_shortfall(top.step)
    lost = top.loss > 0 or short > 0
    print(
        f"issue 14's targets, stage of 3 to {top.step.viewers} viewers on one core"
        + (f" (flagged {top.flags}: read the machine first)" if top.flags else "")
        + ":"
    )
    print(
        f"  loss: {top.loss:.2%} at the {len(stage_of(top.step).get('lanes', []))} tapped"
        f" viewers, {short} sinks short (target: none) -> {'not met' if lost else 'met'}"
    )
    print(
        f"  added delay p99, worse kind: {added:.2f} ms (target under {TARGET_P99_MS:g} ms)"
        f" -> {'met' if added < TARGET_P99_MS else 'not met'}"
    )
    waited = top.step.server_waited / top.step.seconds
    print(f"  server {top.share:.0%} of a core, waited for a CPU {waited:.0%} of the time")
    problems = log_problems(bench.folder / "stage.log")
    if problems:
        print("  stage server log: " + "; ".join(problems))
