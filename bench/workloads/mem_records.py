"""Allocation-heavy workload for bench/mem_overhead.py: the kind of program
people profile for memory. It generates 150 000 order records as CSV text
(string building), loads them into a list of dicts of small objects,
summarises them with temporary lists made in loops, formats a report, then
serialises every record into a fixed-size 1 KiB bytes buffer and holds all
of them at once (a batch before writing it out): the peak, 242 MB of Python
heap (154 MB of buffers, the records and the report), after which
everything is dropped. About 1.6 s with Debian's Python 3.11 here.

Deterministic (its own generator, no clock, no randomness): the peak is the
same in every run to within a few hundred bytes. Prints nothing; with -v, a
checksum and the phases' sizes on stderr.

Usage: mem_records.py [-v] [SCALE]   (SCALE multiplies the record count; 1)
"""
import sys

RECORDS = 150_000
BLOB_BYTES = 1024

CITIES = ("Amsterdam Berlin Cairo Dakar Edinburgh Florence Geneva Havana "
          "Istanbul Jakarta Kyoto Lima Madrid Nairobi Oslo Prague Quito Rome "
          "Seoul Tunis").split()
ITEMS = ("anchor bucket candle drill easel funnel gasket hammer ink jigsaw "
         "kettle ladder mallet needle oar pliers quill rope saw "
         "trowel").split()


def make_csv(n, seed):
    """n lines of CSV text, built line by line and joined."""
    lines = ["id,customer,city,item,quantity,price"]
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        lines.append(f"{i},cust{x % 50000:05d},{CITIES[x % 20]},"
                     f"{ITEMS[(x >> 5) % 20]},{1 + (x >> 10) % 12},"
                     f"{(x >> 3) % 10000 / 100:.2f}")
    return "\n".join(lines)


def load(text):
    """A list of dicts, one per line, of ints, floats and short strings."""
    lines = text.split("\n")
    keys = lines[0].split(",")
    records = []
    for line in lines[1:]:
        row = dict(zip(keys, line.split(",")))
        row["id"] = int(row["id"])
        row["quantity"] = int(row["quantity"])
        row["price"] = float(row["price"])
        row["total"] = row["quantity"] * row["price"]
        records.append(row)
    return records


def summarise(records):
    """Per city and item, statistics from temporary lists made in loops."""
    by_city = {}
    for r in records:
        by_city.setdefault(r["city"], []).append(r)
    summary = []
    for city in sorted(by_city):
        rows = by_city[city]
        by_item = {}
        for r in rows:
            by_item.setdefault(r["item"], []).append(r["quantity"])
        for item in sorted(by_item):
            quantities = by_item[item]
            summary.append((city, item, len(quantities), sum(quantities)))
        totals = sorted([r["total"] for r in rows])
        summary.append((city, "median", len(totals),
                        totals[len(totals) // 2]))
    # a sliding window over the records: a fresh slice and list each step
    window_max = 0.0
    for start in range(0, len(records) - 500, 250):
        window = [r["total"] for r in records[start:start + 500]]
        window_max = max(window_max, sum(window) / len(window))
    summary.append(("all", "window max", 500, window_max))
    return summary


def report(summary, records):
    """A text report, built from many small strings."""
    parts = []
    for city, item, n, value in summary:
        parts.append(f"{city:<10} {item:<10} {n:>7} {value:>12.2f}\n")
    for r in records[::3]:
        parts.append("%(id)8d %(customer)s %(city)-10s %(item)-7s "
                     "%(quantity)3d x %(price)7.2f\n" % r)
    return "".join(parts)


def serialise(records):
    """Every record in its own fixed-size buffer of BLOB_BYTES, all held in
    one list: the program's peak."""
    blobs = []
    for r in records:
        head = (f"{r['id']}|{r['customer']}|{r['city']}|{r['item']}|"
                f"{r['quantity']}|{r['price']}").encode()
        blobs.append(head.ljust(BLOB_BYTES, b"\0"))
    return blobs


def main(scale, verbose):
    n = int(RECORDS * scale)
    text = make_csv(n, seed=20261122)
    records = load(text)
    del text
    summary = summarise(records)
    text_report = report(summary, records)
    blobs = serialise(records)
    checksum = (sum(b[7] for b in blobs[::997]) + len(text_report) +
                round(sum(s[3] for s in summary)))
    held = len(blobs) * BLOB_BYTES
    del blobs, records, summary
    if verbose:
        print(f"mem_records: {n} records, report {len(text_report)} chars, "
              f"{held} bytes of buffers held at the peak, "
              f"checksum {checksum}", file=sys.stderr)


if __name__ == "__main__":
    args = sys.argv[1:]
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    main(float(args[0]) if args else 1.0, verbose)
