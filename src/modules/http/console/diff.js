/*
 * ndDiff.lines(a, b): a line diff of two texts, for the console's
 * "diff before publish".  The common head and tail are cut off, the
 * middle is a longest common subsequence of lines (dynamic programming);
 * a middle too large for that is shown as all removed then all added.
 * Returns [{op: " " | "-" | "+", text}] in order.
 */
(function (root) {
    "use strict";

    var MAX_CELLS = 4000000;

    function split(s) {
        if (s === "") {
            return [];
        }
        var l = s.split("\n");
        if (l[l.length - 1] === "") {
            l.pop();
        }
        return l;
    }

    function lines(a, b) {
        var x = split(a), y = split(b), out = [], head = 0, tail = 0;
        var n, m, i, j, w, t;

        while (head < x.length && head < y.length && x[head] === y[head]) {
            head++;
        }
        while (tail < x.length - head && tail < y.length - head
               && x[x.length - 1 - tail] === y[y.length - 1 - tail]) {
            tail++;
        }

        for (i = 0; i < head; i++) {
            out.push({op: " ", text: x[i]});
        }

        n = x.length - head - tail;
        m = y.length - head - tail;

        if (n * m > MAX_CELLS) {
            for (i = 0; i < n; i++) {
                out.push({op: "-", text: x[head + i]});
            }
            for (j = 0; j < m; j++) {
                out.push({op: "+", text: y[head + j]});
            }
        } else {
            /* t[i][j]: LCS length of x[i..n) and y[j..m), row-major */
            w = m + 1;
            t = new Uint32Array((n + 1) * w);
            for (i = n - 1; i >= 0; i--) {
                for (j = m - 1; j >= 0; j--) {
                    t[i * w + j] = x[head + i] === y[head + j]
                        ? t[(i + 1) * w + j + 1] + 1
                        : Math.max(t[(i + 1) * w + j], t[i * w + j + 1]);
                }
            }
            i = 0;
            j = 0;
            while (i < n || j < m) {
                if (i < n && j < m && x[head + i] === y[head + j]) {
                    out.push({op: " ", text: x[head + i]});
                    i++;
                    j++;
                } else if (i < n
                           && (j === m || t[(i + 1) * w + j] >= t[i * w + j + 1])) {
                    out.push({op: "-", text: x[head + i]});
                    i++;
                } else {
                    out.push({op: "+", text: y[head + j]});
                    j++;
                }
            }
        }

        for (i = x.length - tail; i < x.length; i++) {
            out.push({op: " ", text: x[i]});
        }

        return out;
    }

    var api = {lines: lines};

    if (typeof module === "object" && module.exports) {
        module.exports = api;
    } else {
        root.ndDiff = api;
    }
}(this));
