"""Summarize one column of a tab-separated file: column_summary.py SETTINGS INPUT OUTPUT.

SETTINGS is the JSON the tool's configfile renders: column (1-based), skip (header lines),
series, color and schema; the output is the summary as indented JSON.
"""

import json
import sys


def summarize(lines, column, skip):
    values, skipped = [], 0
    for number, line in enumerate(lines):
        if number < skip or not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        try:
            values.append(float(fields[column - 1]))
        except (IndexError, ValueError):
            skipped += 1
    summary = {"count": len(values), "skipped": skipped}
    if values:
        total = sum(values)
        summary.update(
            sum=int(total) if total.is_integer() else total,
            mean=round(total / len(values), 3),
            min=min(values),
            max=max(values),
        )
    return summary


def main(settings_path, input_path, output_path):
    with open(settings_path) as f:
        settings = json.load(f)
    with open(input_path) as f:
        summary = summarize(f, int(settings["column"]), int(settings.get("skip", 0)))
    summary.update(
        series=settings["series"], color=settings["color"], schema=settings["schema"]
    )
    with open(output_path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
