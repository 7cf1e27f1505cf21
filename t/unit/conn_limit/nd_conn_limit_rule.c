/*
 * The connection limit rule file: what parses, what each limit answers,
 * and the bad inputs refused with a message that names the problem.
 */
#include <nd_core.h>
#include <tap.h>

#ifdef ND_WITH_CONN_LIMIT

#include <nd_conn_limit_rule.h>

static char  err[256];


static int
parse(const char *text, nd_conn_limit_rule_t *rule)
{
    err[0] = '\0';
    return nd_conn_limit_rule_parse((const u_char *) text, strlen(text),
                                    rule, err, sizeof(err));
}


static void
bad(const char *text, const char *want, const char *what)
{
    nd_conn_limit_rule_t  rule;

    is_int(parse(text, &rule), ND_ERROR, "refused: %s", what);
    ok(strstr(err, want) != NULL, "%s: message \"%s\" names \"%s\"", what,
       err, want);
    ok(rule.json == NULL && rule.count == -1, "%s: no rule left", what);
}


int
main(void)
{
    char                 *big;
    nd_conn_limit_rule_t  rule;

    is_int(parse("{\"countLimit\": 5, \"countLimitPerClientIpDefault\": 2,"
                 " \"countLimitPerClientIp\": {\"1.2.3.4\": 0,"
                 " \"1.2.3.5\": -1, \"1.2.3.6\": 7},"
                 " \"countLimitPerClientApp\": {\"app\": 3},"
                 " \"monitorIpList\": [\"9.9.9.9\"], \"other\": 1}",
                 &rule), ND_OK, "a full rule parses (unknown keys ignored)");
    is_int(rule.count, 5, "countLimit");
    is_int(nd_conn_limit_rule_ip(&rule, "1.2.3.4"), 0,
           "an IP's 0 refuses all of it");
    is_int(nd_conn_limit_rule_ip(&rule, "1.2.3.5"), 2,
           "an IP's -1 falls back to the default");
    is_int(nd_conn_limit_rule_ip(&rule, "1.2.3.6"), 7, "an IP's own limit");
    is_int(nd_conn_limit_rule_ip(&rule, "8.8.8.8"), 2, "the default");
    is_int(nd_conn_limit_rule_app(&rule, "app"), 3, "an app's limit");
    is_int(nd_conn_limit_rule_app(&rule, "-"), -1, "no app limit");
    ok(nd_conn_limit_rule_monitored(&rule, "9.9.9.9"), "monitored IP");
    ok(!nd_conn_limit_rule_monitored(&rule, "9.9.9.8"), "not monitored");
    ok(nd_conn_limit_rule_limits(&rule), "limits");
    nd_conn_limit_rule_free(&rule);

    is_int(parse("{}", &rule), ND_OK, "an empty object: no limits");
    ok(!nd_conn_limit_rule_limits(&rule), "no limits");
    is_int(nd_conn_limit_rule_ip(&rule, "1.1.1.1"), -1, "unlimited IP");
    nd_conn_limit_rule_free(&rule);

    is_int(parse("{\"countLimit\": -1, \"countLimitPerClientIpDefault\": 0,"
                 " \"countLimitPerClientIp\": null}", &rule), ND_OK,
           "-1, 0 and null are unlimited");
    ok(!nd_conn_limit_rule_limits(&rule), "no limits");
    nd_conn_limit_rule_free(&rule);

    bad("", "invalid JSON", "empty input");
    bad("{\"countLimit\": 1", "invalid JSON", "truncated JSON");
    bad("[1]", "not a JSON object", "an array");
    bad("{\"countLimit\": 1, \"countLimit\": 2}", "invalid JSON",
        "a duplicate key");
    bad("{\"countLimit\": \"5\"}", "countLimit", "a string limit");
    bad("{\"countLimit\": 1.5}", "countLimit", "a real limit");
    bad("{\"countLimitPerClientIpDefault\": true}",
        "countLimitPerClientIpDefault", "a boolean default");
    bad("{\"countLimitPerClientIp\": [1]}", "countLimitPerClientIp",
        "an IP map that is an array");
    bad("{\"countLimitPerClientIp\": {\"1.2.3.4\": \"x\"}}", "1.2.3.4",
        "an IP limit that is a string");
    bad("{\"countLimitPerClientApp\": {\"\": 1}}", "empty key",
        "an empty app name");
    bad("{\"monitorIpList\": \"1.2.3.4\"}", "monitorIpList",
        "a monitor list that is a string");
    bad("{\"monitorIpList\": [\"1.2.3.4\", 5]}", "item 1",
        "a monitor list item that is a number");

    big = malloc(ND_CONN_LIMIT_RULE_MAX + 2);
    memset(big, ' ', ND_CONN_LIMIT_RULE_MAX + 1);
    big[0] = '{';
    big[ND_CONN_LIMIT_RULE_MAX] = '}';
    big[ND_CONN_LIMIT_RULE_MAX + 1] = '\0';
    bad(big, "larger than", "a file over the size limit");
    free(big);

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # skip the conn_limit module is not built\n");
    return 0;
}

#endif
