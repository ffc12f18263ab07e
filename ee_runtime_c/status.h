/* status.h — status codes of the runtime and what each one means.
 *
 * 0 is success; the hardware layer's codes (hal_status, negative) pass through
 * unchanged; the runtime's own codes are positive and each names one problem. */
#ifndef PS2LLM_STATUS_H
#define PS2LLM_STATUS_H

#include "hal.h"

typedef int status_t;

enum {
    ST_OK = 0,
    /* command line and input */
    ST_BAD_ARGS = 100,      /* unknown option or bad value */
    ST_BAD_UTF8,            /* prompt is not valid UTF-8 */
    ST_PROMPT_EMPTY,        /* nothing to start generating from */
    ST_PROMPT_TOO_LONG,     /* prompt does not fit the context */
    ST_TOKENIZER,           /* the tokenizer section cannot be used */
    ST_PROMPTS_TOO_BIG,     /* PROMPTS.TXT is larger than the runtime reads */
    /* memory */
    ST_OUT_OF_MEMORY = 200, /* the arena is exhausted */
    /* PSNT file (docs/FORMAT.md, "Validation") */
    ST_PSNT_TRUNCATED = 300, /* shorter than its header or its file_size */
    ST_PSNT_MAGIC,          /* not a PSNT file */
    ST_PSNT_BYTE_ORDER,     /* byte-order mark is not 0x01020304 */
    ST_PSNT_VERSION,        /* a version this reader does not know */
    ST_PSNT_HEADER_CRC,     /* header CRC32 mismatch */
    ST_PSNT_HEADER_FIELD,   /* a header field has an impossible value */
    ST_PSNT_LAYOUT,         /* a section is not sector-aligned or runs past the end */
    ST_PSNT_TABLE_CRC,      /* tensor table CRC32 mismatch */
    ST_PSNT_TOKENIZER_CRC,  /* tokenizer section CRC32 mismatch */
    ST_PSNT_ROLE,           /* unknown role, or name/layer disagree with it */
    ST_PSNT_QUANT,          /* unknown or reserved quant type */
    ST_PSNT_GROUP,          /* group size 0 or not dividing cols */
    ST_PSNT_STRIDE,         /* row stride or size disagree with the quant type */
    ST_PSNT_SHAPE,          /* tensor shape contradicts the header */
    ST_PSNT_MISSING,        /* a tensor the header implies is absent */
    ST_PSNT_DUPLICATE,      /* a tensor appears twice */
    ST_PSNT_TENSOR_CRC,     /* tensor data CRC32 mismatch */
    ST_MODEL_MISMATCH = 400, /* the file is not the model this binary was built for */
    ST_STREAM_PLAN,         /* a streamed tensor is not the one the plan's CRCs were made from */
    /* streaming weights during a run (ee_runtime_c/stream.h) */
    ST_STREAM_READ = 500,   /* a streamed read kept failing: the drive reported errors */
    ST_STREAM_CRC,          /* a streamed read kept arriving with the wrong CRC */
    ST_STREAM_ORDER         /* forward.c asked for another tensor than the plan streams next */
};

/* One line saying what the code means; never NULL. */
const char *status_message(status_t code);

/* Where a failure happened, for the error line the app prints: the thing at
 * fault (a tensor name, a header field, an option) and, when has_values is set,
 * the value found and the value expected. */
typedef struct {
    char subject[40];
    uint32_t got, want;
    int has_values;
} StatusDetail;

/* Fill detail (NULL is allowed) and return code, so a failure is one line:
 * return status_fail(d, ST_PSNT_SHAPE, "layers.0.wq", rows, want_rows); */
status_t status_fail(StatusDetail *detail, status_t code, const char *subject,
                     uint32_t got, uint32_t want);
status_t status_fail_plain(StatusDetail *detail, status_t code, const char *subject);

#endif
