"""The run's summary as a short plain-text table (no rich: the GPU image has only the basics).

In: the run's JSON dict. Out: lines of text: one per step (status, key figure), then the
timing tables; anything not measured reads "not measured".
"""

NOT_MEASURED = "not measured"


def _figure(value: object, fmt: str) -> str:
    return NOT_MEASURED if value is None else format(value, fmt)


def _headline(name: str, step: dict) -> str:
    if step["status"] in ("error", "skipped"):
        return step.get("error") or step.get("reason") or ""
    if "max_abs_diff" in step:
        return f"max abs diff {step['max_abs_diff']:.2e} (tolerance {step['tolerance']:g})"
    if name == "provenance":
        gpu = step.get("gpu", "no GPU")
        return (
            f"{gpu}, driver {step.get('driver')}, torch {step['torch']} "
            f"CUDA {step['torch_cuda']}, {step['dtype']}, graphs {step['graphs']}"
        )
    if name == "memory":
        return f"peak {_figure(step.get('peak_mib'), '.0f')} MiB"
    return ""


def render(result: dict) -> list[str]:
    steps = result["steps"]
    lines = [
        f"gpu-check on {result['device']}: {'PASS' if result['ok'] else 'FAIL'} "
        f"in {result['wall_s']:.1f}s",
        "",
    ]
    lines += [
        f"{name:<13} {step['status']:<8} {_headline(name, step)}" for name, step in steps.items()
    ]
    stages = steps.get("stages", {}).get("batches", {})
    if stages:
        lines += [
            "",
            "per stage, median ms  batch   pack    h2d  features  forward    d2h  clips/s",
        ]
        for batch, row in stages.items():
            if isinstance(row, str):
                lines.append(f"{'':>21}  {batch:>5}  {row}")
                continue
            lines.append(
                f"{'':>21}  {batch:>5} {row['pack_ms']:>6.2f} {row['h2d_ms']:>6.2f} "
                f"{row['features_ms']:>9.2f} {row['forward_ms']:>8.2f} {row['d2h_ms']:>6.2f} "
                f"{row['clips_per_s']:>8.0f}"
            )
    forward = steps.get("forward", {})
    if "batch" in forward:
        lines.append("")
        for variant in ("graphs", "eager"):
            row = forward.get(variant)
            rate = f"{row['clips_per_s']:.0f} clips/s" if isinstance(row, dict) else NOT_MEASURED
            lines.append(f"forward-only, batch {forward['batch']}, {variant:<6}: {rate}")
    levels = steps.get("load", {}).get("levels", [])
    if levels:
        lines += ["", "engine load        level   clips/s    p50 ms    p99 ms  batch  refused"]
        for row in levels:
            if row.get("status") != "measured":
                lines.append(f"{row['mode']:<14} {row['level']:>9g}  {NOT_MEASURED}")
                continue
            lines.append(
                f"{row['mode']:<14} {row['level']:>9g} {row['clips_per_s']:>9.0f} "
                f"{_figure(row['p50_ms'], '9.1f')} {_figure(row['p99_ms'], '9.1f')} "
                f"{_figure(row['mean_batch'], '6.1f')} {row['refused'] + row['expired']:>8}"
            )
    return lines
