"""Parse a Prometheus text exposition (0.0.4) from stdin with the
prometheus_client parser (Debian python3-prometheus-client) and print
every family as JSON: {name: {"type": ..., "samples": [[name, labels,
value], ...]}}.  Exit 1 with the parser's error on bad input."""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    out = {}
    try:
        for fam in text_string_to_metric_families(sys.stdin.read()):
            if fam.name in out:
                raise ValueError("family %s appears twice" % fam.name)
            samples = []
            for s in fam.samples:
                v = s.value
                if math.isinf(v) or math.isnan(v):
                    v = str(v)
                samples.append([s.name, s.labels, v])
            out[fam.name] = {"type": fam.type, "samples": samples}
    except Exception as e:  # the parser's error, for the test's message
        print("parse error: %s" % e, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
