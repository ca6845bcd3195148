/* docs/adapters.md holds blocks generated from the adapter contract (core/adapter_schema.c): the
 * market field table and the canonical interval list, each between
 *   <!-- BEGIN generated: <block> ... -->  and  <!-- END generated: <block> -->
 * This test fails when a block drifted from the tables.  `test_adapter_docs --write` (the CMake
 * target adapter-docs) rewrites the blocks in place after a change of the schema. */
#include "adapter_schema.h"
#include "test.h"

static char *doc;
static size_t doc_len;
static char doc_path[512];

/* The generated text of a block (malloc'd). */
static char *generate(const char *block)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m || cdl_schema_reference(m, block))
        abort();
    fclose(m);
    return text;
}

/* The body of a block in s: [*start, *end) between the line of its BEGIN marker and its END
 * marker.  0, or -1 when a marker is missing. */
static int find_block(const char *s, const char *block, size_t *start, size_t *end)
{
    char begin[96], stop[96];
    snprintf(begin, sizeof begin, "<!-- BEGIN generated: %s ", block);
    snprintf(stop, sizeof stop, "<!-- END generated: %s -->", block);
    const char *b = strstr(s, begin), *e = b ? strstr(b, stop) : NULL;
    const char *nl = b ? strchr(b, '\n') : NULL;
    if (!b || !e || !nl || nl > e)
        return -1;
    *start = (size_t)(nl + 1 - s);
    *end = (size_t)(e - s);
    return 0;
}

static void test_blocks_are_current(void)
{
    ASSERT(doc != NULL);
    for (int i = 0; cdl_schema_blocks[i]; i++) {
        size_t start, end;
        if (find_block(doc, cdl_schema_blocks[i], &start, &end)) {
            TEST_FAIL_("%s: no block '%s' (BEGIN/END generated markers)", doc_path, cdl_schema_blocks[i]);
            return;
        }
        char *want = generate(cdl_schema_blocks[i]);
        char *got = strndup(doc + start, end - start);
        if (strcmp(got, want))
            TEST_FAIL_(
                "%s: block '%s' is stale: run cmake --build build --target adapter-docs\n--- in the file:\n%s--- from "
                "the schema:\n%s",
                doc_path, cdl_schema_blocks[i], got, want);
        free(got);
        free(want);
        if (test_current_failed)
            return;
    }
}

/* The generator itself: every market field is a row, in schema order, with its range. */
static void test_field_table(void)
{
    char *t = generate("market-fields");
    const char *p = t;
    for (int i = 0; i < cdl_market_schema_count; i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "\n| `%s` |", cdl_market_schema[i].field);
        const char *q = strstr(p, cell);
        if (!q) {
            TEST_FAIL_("no row for %s after the previous one", cdl_market_schema[i].field);
            break;
        }
        p = q + 1;
    }
    ASSERT(strstr(t, "| `max_streams` | integer | 1 .. 100000 | 200 | ") != NULL);
    ASSERT(strstr(t, "| `max_sends_per_sec` | number | 0.1 .. 1000 | 5 | ") != NULL);
    ASSERT(strstr(t, "| `ws_url` | url | `ws://` or `wss://` | required | ") != NULL);
    ASSERT(strstr(t, "| `confirm_inferred` | boolean | `true` or `false` | false | ") != NULL);
    free(t);
    t = generate("intervals");
    ASSERT_STR_EQ(t, "`1s 10s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 2d 3d 5d 1w 1M 3M`\n");
    free(t);
    ASSERT_EQ(cdl_schema_reference(stdout, "nope"), -1);
}

static void test_markers(void)
{
    size_t s, e;
    ASSERT_EQ(find_block("x <!-- BEGIN generated: a -->\nbody\n<!-- END generated: a -->", "a", &s, &e), 0);
    ASSERT_EQ(e - s, 5);
    ASSERT_EQ(find_block("<!-- BEGIN generated: a -->\nbody\n", "a", &s, &e), -1);
    ASSERT_EQ(find_block("<!-- END generated: a -->\n<!-- BEGIN generated: a -->\n", "a", &s, &e), -1);
}

/* Rewrites every block of the file from the schema. */
static int write_blocks(void)
{
    for (int i = 0; cdl_schema_blocks[i]; i++) {
        size_t start, end;
        if (find_block(doc, cdl_schema_blocks[i], &start, &end)) {
            fprintf(stderr, "%s: no block '%s'\n", doc_path, cdl_schema_blocks[i]);
            return 1;
        }
        char *text = generate(cdl_schema_blocks[i]);
        size_t tl = strlen(text);
        char *next = malloc(doc_len - (end - start) + tl + 1);
        if (!next)
            abort();
        memcpy(next, doc, start);
        memcpy(next + start, text, tl);
        memcpy(next + start + tl, doc + end, doc_len - end + 1);
        doc_len = doc_len - (end - start) + tl;
        free(doc);
        free(text);
        doc = next;
    }
    FILE *f = fopen(doc_path, "wb");
    if (!f || fwrite(doc, 1, doc_len, f) != doc_len || fclose(f)) {
        perror(doc_path);
        return 1;
    }
    printf("%s: generated blocks rewritten\n", doc_path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *src = getenv("CDL_SOURCE_DIR");
    snprintf(doc_path, sizeof doc_path, "%s/docs/adapters.md", src ? src : CDL_SOURCE_DIR);
    doc = test_read_file(doc_path, &doc_len);
    if (argc > 1 && !strcmp(argv[1], "--write"))
        return doc ? write_blocks() : 1;
    TEST_RUN(test_blocks_are_current);
    TEST_RUN(test_field_table);
    TEST_RUN(test_markers);
    free(doc);
    return TEST_DONE();
}
