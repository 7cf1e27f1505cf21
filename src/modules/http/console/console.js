/*
 * nacosd console: one page, routed by the URL fragment (#/configs?...),
 * calling the same HTTP API as the SDKs and the Nacos console.  No
 * framework; the DOM is built with createElement and textContent only
 * (nothing from the server is ever parsed as HTML).
 */
(function () {
    "use strict";

    var view = document.getElementById("view");
    var msg = document.getElementById("msg");
    var nsSelect = document.getElementById("ns");
    var base = location.pathname.replace(/[^\/]*$/, "");   /* "/nacos/" */
    var store = window.sessionStorage;
    var pages = {};
    var pendingRoute = null;

    /* ---- DOM helpers -------------------------------------------------- */

    function h(tag, attrs) {
        var el = document.createElement(tag), k, i, c;

        for (k in attrs || {}) {
            if (!Object.prototype.hasOwnProperty.call(attrs, k)
                || attrs[k] === undefined || attrs[k] === null) {
                continue;
            }
            if (k.slice(0, 2) === "on") {
                el.addEventListener(k.slice(2), attrs[k]);
            } else if (k === "text") {
                el.textContent = attrs[k];
            } else if (k === "value" || k === "checked" || k === "disabled"
                       || k === "readOnly" || k === "hidden") {
                el[k] = attrs[k];
            } else {
                el.setAttribute(k, attrs[k]);
            }
        }
        for (i = 2; i < arguments.length; i++) {
            c = arguments[i];
            if (c === null || c === undefined || c === false) {
                continue;
            }
            el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
        }
        return el;
    }

    function clear(el) {
        while (el.firstChild) {
            el.removeChild(el.firstChild);
        }
        return el;
    }

    /* the show() a page gets: a page still loading when another was
     * asked for (a newer render) shows nothing */
    var generation = 0;

    function shower(g) {
        return function () {
            var i;
            if (g !== generation) {
                return;
            }
            clear(view);
            for (i = 0; i < arguments.length; i++) {
                if (arguments[i]) {
                    view.appendChild(arguments[i]);
                }
            }
        };
    }

    /* a message outlives the one navigation that may follow it */
    var sticky = false;

    function say(text, kind) {
        msg.textContent = text || "";
        msg.className = text ? (kind || "ok") : "";
        sticky = !!text;
    }

    function input(name, label, value, attrs) {
        var a = attrs || {};
        a.name = name;
        a.value = value === undefined || value === null ? "" : String(value);
        return h("label", null, label, h("input", a));
    }

    function button(text, fn, cls) {
        return h("button", {type: "button", "class": cls || null, onclick: fn}, text);
    }

    function field(form, name) {
        return form.querySelector("[name=\"" + name + "\"]").value;
    }

    function table(headers, rows, empty) {
        var t = h("table"), tr = h("tr"), body = h("tbody");

        headers.forEach(function (x) {
            tr.appendChild(h("th", {text: x}));
        });
        t.appendChild(h("thead", null, tr));
        if (rows.length === 0) {
            body.appendChild(h("tr", null,
                h("td", {"class": "empty", colspan: String(headers.length),
                         text: empty || "nothing here yet"})));
        }
        rows.forEach(function (r) {
            body.appendChild(r);
        });
        t.appendChild(body);
        return t;
    }

    function row(cells) {
        var tr = h("tr");
        cells.forEach(function (c) {
            tr.appendChild(c instanceof Node && c.tagName === "TD"
                           ? c : h("td", null, c));
        });
        return tr;
    }

    function when(ms) {
        return ms ? new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 19) : "";
    }

    function link(text, route, params) {
        return h("a", {href: href(route, params), text: text});
    }

    function href(route, params) {
        var q = new URLSearchParams(params || {}).toString();
        return "#/" + route + (q ? "?" + q : "");
    }

    function go(route, params) {
        var target = href(route, params);
        if (location.hash === target) {
            render();
        } else {
            location.hash = target;
        }
    }

    function tag(text, up) {
        return h("span", {"class": "tag " + (up ? "up" : "down"), text: text});
    }

    /* ---- the API ------------------------------------------------------ */

    function ApiError(status, body) {
        this.status = status;
        this.body = body;
        this.message = "HTTP " + status + ": " + (body || "").slice(0, 300);
    }

    function authNeeded(status, body) {
        return status === 401 || (status === 403 && (!store.getItem("nd.token")
            || /token|user not found|unknown user|login|expired/i.test(body)));
    }

    /*
     * api(method, path, params, headers): params go in the query for GET
     * and DELETE, in a form body otherwise; the token, when there is one,
     * as accessToken.  Resolves to the parsed JSON, or the text.
     */
    function api(method, path, params, headers) {
        var q = new URLSearchParams(), k, url, opts, token;

        for (k in params || {}) {
            if (Object.prototype.hasOwnProperty.call(params, k)
                && params[k] !== undefined && params[k] !== null) {
                q.append(k, params[k]);
            }
        }
        token = store.getItem("nd.token");
        url = base + path;
        opts = {method: method, headers: headers || {}, credentials: "same-origin"};

        if (method === "GET" || method === "DELETE") {
            if (token) {
                q.append("accessToken", token);
            }
            url += "?" + q.toString();
        } else {
            url += token ? "?accessToken=" + encodeURIComponent(token) : "";
            opts.headers["Content-Type"] = "application/x-www-form-urlencoded";
            opts.body = q.toString();
        }

        return fetch(url, opts).then(function (res) {
            return res.text().then(function (text) {
                if (!res.ok) {
                    if (authNeeded(res.status, text)) {
                        store.removeItem("nd.token");
                        pendingRoute = location.hash;
                        location.hash = "#/login";
                    }
                    throw new ApiError(res.status, text);
                }
                try {
                    return JSON.parse(text);
                } catch (e) {
                    return text;
                }
            });
        });
    }

    function failed(e) {
        if (e instanceof ApiError && authNeeded(e.status, e.body)) {
            say("Log in to continue", "error");
            return;
        }
        say(e.message || String(e), "error");
    }

    function ns() {
        return nsSelect.value || "";
    }

    /* ---- login -------------------------------------------------------- */

    pages.login = function (q, show) {
        var user = store.getItem("nd.user"), form;

        form = h("form", {"class": "card", id: "login-form"},
            h("h1", {text: "Log in"}),
            user ? h("p", {text: "Logged in as " + user + "."}) : null,
            h("label", {"class": "row"}, "User name",
                h("input", {name: "username", autocomplete: "username"})),
            h("label", {"class": "row"}, "Password",
                h("input", {name: "password", type: "password",
                            autocomplete: "current-password"})),
            h("button", {type: "submit"}, "Log in"),
            h("p", {"class": "muted",
                    text: "Needed only when the server has authentication on; "
                          + "the token is kept for this tab only."}));

        form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            api("POST", "v1/auth/users/login", {
                username: field(form, "username"),
                password: field(form, "password")
            }).then(function (res) {
                if (!res || !res.accessToken) {
                    throw new Error("the server answered no token");
                }
                store.setItem("nd.token", res.accessToken);
                store.setItem("nd.user", field(form, "username"));
                say("Logged in as " + field(form, "username"));
                loadNamespaces().then(function () {
                    var back = pendingRoute;
                    pendingRoute = null;
                    location.hash = back && back !== "#/login" ? back : "#/configs";
                });
            }).catch(function (e) {
                if (e instanceof ApiError && e.status === 404) {
                    say("This server has no login: authentication is off", "error");
                } else {
                    say("Login failed: " + (e.message || e), "error");
                }
            });
        });
        show(form);
        updateUser();
    };

    function updateUser() {
        var user = store.getItem("nd.token") ? store.getItem("nd.user") : null;
        document.getElementById("logout").hidden = !user;
        document.getElementById("login-link").textContent = user ? user : "Log in";
    }

    document.getElementById("logout").addEventListener("click", function () {
        store.removeItem("nd.token");
        store.removeItem("nd.user");
        updateUser();
        go("login");
    });

    /* ---- namespaces --------------------------------------------------- */

    function loadNamespaces() {
        return api("GET", "v1/console/namespaces").then(function (res) {
            var cur = store.getItem("nd.ns") || "";
            clear(nsSelect);
            (res.data || []).forEach(function (n) {
                nsSelect.appendChild(h("option", {value: n.namespace,
                    text: n.namespaceShowName + (n.namespace ? " (" + n.namespace + ")" : "")}));
            });
            nsSelect.value = cur;
            if (nsSelect.value !== cur) {
                nsSelect.value = "";
            }
            return res.data || [];
        });
    }

    nsSelect.addEventListener("change", function () {
        store.setItem("nd.ns", nsSelect.value);
        render();
    });

    pages.namespaces = function (q, show) {
        var form = h("form", {"class": "bar card", id: "ns-create"},
            input("customNamespaceId", "ID (empty: generated)", ""),
            input("namespaceName", "Name", "", {required: "required"}),
            input("namespaceDesc", "Description", ""),
            h("button", {type: "submit"}, "Create namespace"));

        form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            api("POST", "v1/console/namespaces", {
                customNamespaceId: field(form, "customNamespaceId"),
                namespaceName: field(form, "namespaceName"),
                namespaceDesc: field(form, "namespaceDesc")
            }).then(function (res) {
                if (res !== true) {
                    throw new Error("the server refused the namespace: " + res);
                }
                say("Namespace " + field(form, "namespaceName") + " created");
                render();
            }).catch(failed);
        });

        return loadNamespaces().then(function (list) {
            show(h("h1", {text: "Namespaces"}), form,
                table(["ID", "Name", "Description", "Configs", "Quota", ""],
                      list.map(nsRow)));
        });
    };

    function nsRow(n) {
        var tr, actions, del;

        actions = h("td");
        tr = row([n.namespace || "(public)", n.namespaceShowName,
                  n.namespaceDesc || "", h("td", {"class": "num", text: String(n.configCount)}),
                  h("td", {"class": "num", text: String(n.quota)}), actions]);
        if (!n.namespace) {
            return tr;
        }

        actions.appendChild(button("Edit", function () {
            var name = h("input", {name: "name", value: n.namespaceShowName});
            var desc = h("input", {name: "desc", value: n.namespaceDesc || ""});
            clear(tr.children[1]).appendChild(name);
            clear(tr.children[2]).appendChild(desc);
            clear(actions).appendChild(button("Save", function () {
                api("PUT", "v1/console/namespaces", {
                    namespace: n.namespace,
                    namespaceShowName: name.value,
                    namespaceDesc: desc.value
                }).then(function (res) {
                    if (res !== true) {
                        throw new Error("the server refused the change: " + res);
                    }
                    say("Namespace " + n.namespace + " saved");
                    render();
                }).catch(failed);
            }));
            actions.appendChild(button("Cancel", render, "plain"));
        }, "plain"));

        /* two clicks, no confirm() dialog */
        del = button("Delete", function () {
            if (del.textContent === "Delete") {
                del.textContent = "Really delete?";
                return;
            }
            api("DELETE", "v1/console/namespaces", {namespaceId: n.namespace})
                .then(function () {
                    say("Namespace " + n.namespace + " deleted");
                    if (ns() === n.namespace) {
                        store.setItem("nd.ns", "");
                    }
                    render();
                }).catch(failed);
        }, "danger");
        actions.appendChild(del);
        return tr;
    }

    /* ---- configs ------------------------------------------------------ */

    function blur(s) {
        return s === "" || s.indexOf("*") >= 0 ? s : "*" + s + "*";
    }

    function pager(p, total, pages_, go_) {
        return h("div", {"class": "pager"},
            button("Previous", function () { go_(p - 1); }, "plain"),
            h("span", {"class": "page-info",
                       text: "page " + p + " of " + Math.max(pages_, 1) + ", " + total + " in all"}),
            button("Next", function () { go_(p + 1); }, "plain"));
    }

    pages.configs = function (q, show) {
        var pageNo = Number(q.pageNo || 1), pageSize = Number(q.pageSize || 10);
        var form = h("form", {"class": "bar", id: "config-search"},
            input("dataId", "Data ID", q.dataId || ""),
            input("group", "Group", q.group || ""),
            h("label", null, "Per page", h("select", {name: "pageSize"},
                h("option", {value: "10", text: "10"}),
                h("option", {value: "50", text: "50"}),
                h("option", {value: "100", text: "100"}))),
            h("button", {type: "submit"}, "Search"),
            button("New config", function () { go("config", {}); }, "plain"));

        form.querySelector("[name=pageSize]").value = String(pageSize);
        form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            go("configs", {dataId: field(form, "dataId"), group: field(form, "group"),
                           pageSize: field(form, "pageSize"), pageNo: 1});
        });

        return api("GET", "v1/cs/configs", {
            search: "blur", dataId: blur(q.dataId || ""), group: blur(q.group || ""),
            appName: "", config_tags: "", tenant: ns(), pageNo: pageNo, pageSize: pageSize
        }).then(function (res) {
            var rows = (res.pageItems || []).map(function (c) {
                var key = {dataId: c.dataId, group: c.group};
                return row([c.dataId, c.group, c.appName || "", c.type || "",
                            h("code", {text: (c.md5 || "").slice(0, 8)}),
                            h("td", null, link("Edit", "config", key), " ",
                              link("History", "history", key), " ",
                              link("Listeners", "listeners", key))]);
            });
            var nav = function (p) {
                if (p < 1 || p > Math.max(res.pagesAvailable, 1)) {
                    return;
                }
                go("configs", {dataId: q.dataId || "", group: q.group || "",
                               pageSize: pageSize, pageNo: p});
            };
            show(h("h1", {text: "Configs"}), form,
                 table(["Data ID", "Group", "App", "Type", "MD5", ""], rows,
                       "no config matches"),
                 pager(pageNo, res.totalCount, res.pagesAvailable, nav));
        });
    };

    function configKey(q) {
        return {dataId: q.dataId, group: q.group, tenant: ns()};
    }

    function getConfig(q) {
        /* the list first: a GET of a missing config is a 404 */
        return api("GET", "v1/cs/configs", {search: "accurate", dataId: q.dataId,
            group: q.group, tenant: ns(), appName: "", config_tags: "",
            pageNo: 1, pageSize: 1}).then(function (res) {
            if (!res.totalCount) {
                return null;
            }
            return api("GET", "v1/cs/configs", {dataId: q.dataId, group: q.group,
                tenant: ns(), show: "all"});
        });
    }

    function diffView(before, after) {
        var pre = h("pre", {"class": "diff", id: "diff"}), changed = 0;

        window.ndDiff.lines(before, after).forEach(function (d) {
            var cls = d.op === "+" ? "add" : d.op === "-" ? "del" : "same";
            if (d.op !== " ") {
                changed++;
            }
            pre.appendChild(h("span", {"class": cls, text: d.op + " " + d.text}));
        });
        if (changed === 0) {
            pre.appendChild(h("span", {"class": "same", text: "(no change in the content)"}));
        }
        return pre;
    }

    function publish(q, p, betaIps) {
        var params = {dataId: q.dataId, group: q.group, tenant: ns(), content: p.content,
                      type: p.type, appName: p.appName, desc: p.desc,
                      config_tags: p.config_tags};
        if (p.tag) {
            params.tag = p.tag;
        }
        return api("POST", "v1/cs/configs", params,
                   betaIps ? {betaIps: betaIps} : null).then(function (res) {
            if (res !== true) {
                throw new Error("the server refused the config: " + res);
            }
        });
    }

    pages.config = function (q, show) {
        var isNew = !q.dataId;

        return Promise.all([
            isNew ? null : getConfig(q),
            isNew ? null : api("GET", "v1/cs/configs",
                               {dataId: q.dataId, group: q.group, tenant: ns(), beta: "true"})
        ]).then(function (got) {
            var cur = got[0] || {}, beta = got[1] && got[1].data, form, review, types;

            types = h("select", {name: "type"});
            ["text", "json", "xml", "yaml", "html", "properties", "toml"].forEach(function (t) {
                types.appendChild(h("option", {value: t, text: t}));
            });
            types.value = cur.type || "text";

            review = h("div", {id: "review"});
            form = h("form", {"class": "card", id: "config-form"},
                h("div", {"class": "bar"},
                  input("dataId", "Data ID", q.dataId || "",
                        {readOnly: !isNew, required: "required"}),
                  input("group", "Group", q.group || "DEFAULT_GROUP",
                        {readOnly: !isNew, required: "required"}),
                  h("label", null, "Type", types),
                  input("appName", "App", cur.appName || ""),
                  input("config_tags", "Tags", cur.configTags || ""),
                  input("desc", "Description", cur.desc || "")),
                h("label", {"class": "row"}, "Content",
                  h("textarea", {name: "content", value: cur.content || "",
                                 spellcheck: "false"})),
                h("div", {"class": "bar"},
                  input("betaIps", "Beta: publish only to these IPs (comma separated)", ""),
                  input("tag", "Tag: publish as this tag version", "")),
                h("button", {type: "submit"}, "Review changes"));

            form.addEventListener("submit", function (ev) {
                var key = isNew ? {dataId: field(form, "dataId"), group: field(form, "group")} : q;
                var p = {content: field(form, "content"), type: types.value,
                         appName: field(form, "appName"), desc: field(form, "desc"),
                         config_tags: field(form, "config_tags"), tag: field(form, "tag")};
                var betaIps = field(form, "betaIps");

                ev.preventDefault();
                clear(review).appendChild(h("h2", {text: "Changes to publish"
                    + (betaIps ? " as beta for " + betaIps : p.tag ? " as tag " + p.tag : "")}));
                review.appendChild(diffView(cur.content || "", p.content));
                review.appendChild(button("Publish", function () {
                    publish(key, p, betaIps).then(function () {
                        say("Published " + key.dataId + " (" + key.group + ")");
                        if (betaIps || p.tag) {
                            go("config", {dataId: key.dataId, group: key.group});
                        } else {
                            go("configs", {dataId: key.dataId});
                        }
                    }).catch(failed);
                }));
                review.appendChild(button("Cancel", function () { clear(review); }, "plain"));
            });

            show(h("h1", {text: isNew ? "New config" : "Config " + q.dataId + " (" + q.group + ")"}),
                 isNew ? null : h("p", null, link("History", "history", q), " · ",
                                  link("Listeners", "listeners", q), " · ",
                                  h("span", {"class": "muted", text: "modified " + when(cur.modifyTime)
                                             + ", md5 " + (cur.md5 || "")})),
                 form, review, beta ? betaCard(q, beta) : null,
                 isNew ? null : deleteCard(q));
        });
    };

    function betaCard(q, beta) {
        return h("div", {"class": "card", id: "beta"},
            h("h2", {text: "Beta version for " + beta.betaIps}),
            h("pre", {text: beta.content}),
            button("Stop beta", function () {
                api("DELETE", "v1/cs/configs", {dataId: q.dataId, group: q.group,
                                                tenant: ns(), beta: "true"})
                    .then(function () {
                        say("Beta of " + q.dataId + " stopped");
                        render();
                    }).catch(failed);
            }, "danger"));
    }

    function deleteCard(q) {
        var del = button("Delete config", function () {
            if (del.textContent === "Delete config") {
                del.textContent = "Really delete " + q.dataId + "?";
                return;
            }
            api("DELETE", "v1/cs/configs", configKey(q)).then(function () {
                say("Deleted " + q.dataId);
                go("configs", {});
            }).catch(failed);
        }, "danger");
        return h("div", {"class": "bar"}, del);
    }

    pages.history = function (q, show) {
        return api("GET", "v1/cs/history", {search: "accurate", dataId: q.dataId,
            group: q.group, tenant: ns(), pageNo: 1, pageSize: 100}).then(function (res) {
            var detail = h("div", {id: "history-detail"});
            var rows = (res.pageItems || []).map(function (e) {
                return row([e.id, e.opType.trim(), e.publishType || "formal",
                            e.lastModifiedTime || "", e.srcIp || "",
                            h("code", {text: (e.md5 || "").slice(0, 8)}),
                            h("td", null, button("View", function () {
                                historyDetail(q, e.id, detail);
                            }, "plain"))]);
            });
            show(h("h1", {text: "History of " + q.dataId + " (" + q.group + ")"}),
                 h("p", null, link("Back to the config", "config", q)),
                 table(["ID", "Op", "Kind", "Time", "Source", "MD5", ""], rows,
                       "no history"),
                 detail);
        });
    };

    function historyDetail(q, nid, detail) {
        Promise.all([
            api("GET", "v1/cs/history", {nid: nid, dataId: q.dataId, group: q.group,
                                         tenant: ns()}),
            getConfig(q)
        ]).then(function (got) {
            var e = got[0], cur = got[1] || {}, confirm = h("div");
            clear(detail).appendChild(h("h2", {text: "Version " + e.id + " ("
                + e.opType.trim() + ", " + e.lastModifiedTime + ")"}));
            detail.appendChild(h("pre", {text: e.content}));
            detail.appendChild(button("Roll back to this version", function () {
                clear(confirm).appendChild(h("h2", {text: "Changes the rollback makes"}));
                confirm.appendChild(diffView(cur.content || "", e.content));
                confirm.appendChild(button("Confirm rollback", function () {
                    publish(q, {content: e.content, type: e.type || cur.type || "text",
                                appName: e.appName || cur.appName || "",
                                desc: cur.desc || "", config_tags: cur.configTags || ""})
                        .then(function () {
                            say("Rolled " + q.dataId + " back to version " + e.id);
                            go("config", {dataId: q.dataId, group: q.group});
                        }).catch(failed);
                }));
            }));
            detail.appendChild(confirm);
        }).catch(failed);
    }

    pages.listeners = function (q, show) {
        return Promise.all([
            api("GET", "v1/cs/configs/listener", configKey(q)),
            getConfig(q)
        ]).then(function (got) {
            var st = got[0].lisentersGroupkeyStatus || {}, cur = got[1] || {};
            var rows = Object.keys(st).sort().map(function (ip) {
                return row([ip, h("code", {text: st[ip]}),
                            h("td", null, tag(st[ip] === cur.md5 ? "current" : "behind",
                                              st[ip] === cur.md5))]);
            });
            show(h("h1", {text: "Listeners of " + q.dataId + " (" + q.group + ")"}),
                 h("p", null, link("Back to the config", "config", q)),
                 table(["Client", "MD5 it has", "State"], rows, "no client listens"));
        });
    };

    /* ---- services ----------------------------------------------------- */

    pages.services = function (q, show) {
        var pageNo = Number(q.pageNo || 1), pageSize = 20;
        var form = h("form", {"class": "bar", id: "service-search"},
            input("serviceName", "Service", q.serviceName || ""),
            input("groupName", "Group", q.groupName || ""),
            h("button", {type: "submit"}, "Search"));

        form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            go("services", {serviceName: field(form, "serviceName"),
                            groupName: field(form, "groupName"), pageNo: 1});
        });

        return api("GET", "v1/ns/catalog/services", {
            pageNo: pageNo, pageSize: pageSize, namespaceId: ns(),
            serviceNameParam: q.serviceName || "", groupNameParam: q.groupName || "",
            withInstances: "false"
        }).then(function (res) {
            var list = res.serviceList || [], pagesAvailable = Math.ceil(res.count / pageSize);
            var rows = list.map(function (s) {
                return row([s.name, s.groupName,
                            h("td", {"class": "num", text: String(s.clusterCount)}),
                            h("td", {"class": "num", text: String(s.ipCount)}),
                            h("td", {"class": "num", text: String(s.healthyInstanceCount)}),
                            h("td", null, link("Detail", "service",
                                               {name: s.name, group: s.groupName}))]);
            });
            show(h("h1", {text: "Services"}), form,
                 table(["Service", "Group", "Clusters", "Instances", "Healthy", ""], rows,
                       "no service matches"),
                 pager(pageNo, res.count, pagesAvailable, function (p) {
                     if (p >= 1 && p <= Math.max(pagesAvailable, 1)) {
                         go("services", {serviceName: q.serviceName || "",
                                         groupName: q.groupName || "", pageNo: p});
                     }
                 }));
        });
    };

    pages.service = function (q, show) {
        var key = {serviceName: q.name, groupName: q.group, namespaceId: ns()};

        return Promise.all([
            api("GET", "v1/ns/service", key),
            api("GET", "v1/ns/service/subscribers",
                Object.assign({pageNo: 1, pageSize: 100}, key))
        ]).then(function (got) {
            var svc = got[0], subs = got[1].subscribers || [];
            return Promise.all((svc.clusters || []).map(function (c) {
                return api("GET", "v1/ns/catalog/instances", Object.assign(
                    {clusterName: c.name, pageNo: 1, pageSize: 100}, key))
                    .then(function (res) { return {cluster: c, list: res.list || []}; });
            })).then(function (clusters) {
                var parts = [h("h1", {text: "Service " + q.name + " (" + q.group + ")"}),
                    h("p", {"class": "muted", text: "protect threshold " + svc.protectThreshold
                        + ", selector " + ((svc.selector || {}).type || "none")
                        + ", metadata " + JSON.stringify(svc.metadata || {})})];

                clusters.forEach(function (c) {
                    parts.push(h("h2", {text: "Cluster " + c.cluster.name}));
                    parts.push(table(["IP", "Port", "Weight", "Healthy", "Enabled",
                                      "Ephemeral", "Metadata", ""],
                                     c.list.map(function (i) { return instanceRow(q, i); }),
                                     "no instance"));
                });
                if (clusters.length === 0) {
                    parts.push(h("p", {"class": "muted", text: "no cluster"}));
                }
                parts.push(h("h2", {text: "Subscribers"}));
                parts.push(table(["Address", "Agent", "App"], subs.map(function (s) {
                    return row([s.addrStr || s.ip + ":" + s.port, s.agent || "", s.app || ""]);
                }), "no subscriber"));
                show.apply(null, parts);
            });
        });
    };

    function instanceRow(q, i) {
        var tr, actions = h("td");

        tr = row([i.ip, h("td", {"class": "num", text: String(i.port)}),
                  h("td", {"class": "num", text: String(i.weight)}),
                  h("td", null, tag(i.healthy ? "healthy" : "unhealthy", i.healthy)),
                  h("td", null, tag(i.enabled ? "enabled" : "disabled", i.enabled)),
                  String(i.ephemeral), h("code", {text: JSON.stringify(i.metadata || {})}),
                  actions]);

        actions.appendChild(button("Edit", function () {
            var w = h("input", {name: "weight", type: "number", step: "0.1", min: "0",
                                value: String(i.weight)});
            var en = h("input", {name: "enabled", type: "checkbox", checked: !!i.enabled});
            var md = h("input", {name: "metadata", value: JSON.stringify(i.metadata || {})});

            clear(tr.children[2]).appendChild(w);
            clear(tr.children[4]).appendChild(en);
            clear(tr.children[6]).appendChild(md);
            clear(actions).appendChild(button("Save", function () {
                try {
                    JSON.parse(md.value);
                } catch (e) {
                    say("Metadata must be a JSON object: " + e.message, "error");
                    return;
                }
                api("PUT", "v1/ns/instance", {
                    serviceName: q.name, groupName: q.group, namespaceId: ns(),
                    clusterName: i.clusterName, ip: i.ip, port: i.port,
                    ephemeral: String(i.ephemeral), weight: w.value,
                    enabled: String(en.checked), metadata: md.value
                }).then(function () {
                    say("Instance " + i.ip + ":" + i.port + " saved");
                    render();
                }).catch(failed);
            }));
            actions.appendChild(button("Cancel", render, "plain"));
        }, "plain"));
        return tr;
    }

    /* ---- cluster and connections -------------------------------------- */

    pages.cluster = function (q, show) {
        return api("GET", "v1/core/cluster/nodes", {keyword: ""}).then(function (res) {
            var rows = (res.data || []).map(function (m) {
                var ext = m.extendInfo || {};
                return row([m.address, h("td", null, tag(m.state, m.state === "UP")),
                            ext.version || "", when(ext.lastRefreshTime),
                            h("td", {"class": "num", text: String(m.failAccessCnt)})]);
            });
            show(h("h1", {text: "Cluster members"}),
                 table(["Address", "State", "Version", "Last refresh", "Failed calls"],
                       rows, "no member"));
        });
    };

    pages.connections = function (q, show) {
        return api("GET", "v1/core/loader/current").then(function (res) {
            var rows = Object.keys(res || {}).sort().map(function (id) {
                var m = res[id].metaInfo || {};
                return row([h("code", {text: id}), m.clientIp + ":" + m.remotePort,
                            m.version || "", m.tenant || "", when(m.lastActiveTime),
                            h("code", {text: JSON.stringify(m.labels || {})})]);
            });
            show(h("h1", {text: "Connections to this node"}),
                 table(["Connection", "Client", "SDK", "Namespace", "Last active", "Labels"],
                       rows, "no SDK is connected"));
        });
    };

    /* ---- router ------------------------------------------------------- */

    function render() {
        var m = /^#\/([a-z]+)(?:\?(.*))?$/.exec(location.hash), page, q = {}, g;

        if (!m || !pages[m[1]]) {
            location.replace("#/configs");
            return;
        }
        page = m[1];
        new URLSearchParams(m[2] || "").forEach(function (v, k) { q[k] = v; });

        Array.prototype.forEach.call(document.querySelectorAll("#nav a"), function (a) {
            a.className = a.getAttribute("data-page") === page ? "active" : "";
        });
        document.body.setAttribute("data-page", page);
        view.setAttribute("data-state", "loading");
        g = ++generation;

        Promise.resolve(pages[page](q, shower(g))).then(function () {
            if (g === generation) {
                view.setAttribute("data-state", "ready");
            }
        }).catch(function (e) {
            if (g === generation) {
                view.setAttribute("data-state", "error");
                failed(e);
            }
        });
    }

    window.addEventListener("hashchange", function () {
        if (sticky) {
            sticky = false;
        } else {
            say("");
        }
        render();
    });

    updateUser();
    if (/^#\/login/.test(location.hash)) {
        render();
    } else {
        loadNamespaces().then(render, function (e) {
            failed(e);
            render();
        });
    }
}());
