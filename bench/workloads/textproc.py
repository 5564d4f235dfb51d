"""Dict and str processing: tokenise generated text, count words and
bigrams, build an index, format a report. Usage: textproc.py [ROUNDS]"""
import sys

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet "
         "kilo lima mike november oscar papa quebec romeo sierra tango "
         "uniform victor whiskey xray yankee zulu").split()


def make_text(n, seed=12345):
    out = []
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        word = WORDS[x % len(WORDS)]
        if x & 0x30 == 0:
            word = word.capitalize() + ","
        elif x & 0x1C0 == 0:
            word = word + "."
        out.append(word)
    return " ".join(out)


def tokenise(text):
    tokens = []
    for raw in text.split():
        word = raw.strip(".,").lower()
        if word:
            tokens.append(word)
    return tokens


def count(tokens):
    words = {}
    bigrams = {}
    prev = None
    for t in tokens:
        words[t] = words.get(t, 0) + 1
        if prev is not None:
            key = prev + " " + t
            bigrams[key] = bigrams.get(key, 0) + 1
        prev = t
    return words, bigrams


def index(tokens):
    where = {}
    for pos, t in enumerate(tokens):
        where.setdefault(t[:3], []).append(pos)
    return where


def report(words, bigrams):
    lines = []
    for w, c in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        lines.append("%-10s %6d" % (w, c))
    for b, c in sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        lines.append("{:<20} {:>6}".format(b, c))
    return "\n".join(lines)


def main(rounds):
    total = 0
    for r in range(rounds):
        text = make_text(40000, seed=r + 1)
        tokens = tokenise(text)
        words, bigrams = count(tokens)
        where = index(tokens)
        total += len(report(words, bigrams)) + len(where)
    print(total)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 80)
