/* status.c — messages for status codes. */
#include "status.h"

const char *status_message(status_t code)
{
    switch (code) {
    case ST_OK: return "ok";
    case HAL_ERR_IO: return "disc read failed";
    case HAL_ERR_RANGE: return "read past the end of the disc";
    case HAL_ERR_BUSY: return "a disc read is already in flight";
    case HAL_ERR_NOT_FOUND: return "file not found on the disc";
    case HAL_ERR_NO_DISC: return "disc image cannot be opened";
    case HAL_ERR_ARGS: return "bad arguments to the hardware layer";
    case ST_BAD_ARGS: return "bad command line";
    case ST_BAD_UTF8: return "prompt is not valid UTF-8";
    case ST_PROMPT_EMPTY: return "prompt encodes to no tokens";
    case ST_PROMPT_TOO_LONG: return "prompt does not fit the context";
    case ST_TOKENIZER: return "tokenizer section is unusable";
    case ST_PROMPTS_TOO_BIG: return "PROMPTS.TXT has more than the runtime reads";
    case ST_OUT_OF_MEMORY: return "out of memory (arena exhausted)";
    case ST_PSNT_TRUNCATED: return "PSNT file is truncated";
    case ST_PSNT_MAGIC: return "not a PSNT file (bad magic)";
    case ST_PSNT_BYTE_ORDER: return "PSNT byte-order mark is wrong";
    case ST_PSNT_VERSION: return "unknown PSNT version";
    case ST_PSNT_HEADER_CRC: return "PSNT header CRC mismatch";
    case ST_PSNT_HEADER_FIELD: return "PSNT header field is invalid";
    case ST_PSNT_LAYOUT: return "PSNT section is misaligned or runs past the end";
    case ST_PSNT_TABLE_CRC: return "PSNT tensor table CRC mismatch";
    case ST_PSNT_TOKENIZER_CRC: return "PSNT tokenizer CRC mismatch";
    case ST_PSNT_ROLE: return "PSNT tensor has an unknown or inconsistent role";
    case ST_PSNT_QUANT: return "PSNT tensor has an unknown or unsupported quant type";
    case ST_PSNT_GROUP: return "PSNT tensor group size does not divide its row";
    case ST_PSNT_STRIDE: return "PSNT tensor row stride or size is wrong for its quant type";
    case ST_PSNT_SHAPE: return "PSNT tensor shape contradicts the header";
    case ST_PSNT_MISSING: return "PSNT tensor missing";
    case ST_PSNT_DUPLICATE: return "PSNT tensor duplicated";
    case ST_PSNT_TENSOR_CRC: return "PSNT tensor CRC mismatch";
    case ST_MODEL_MISMATCH: return "PSNT file is not the model this binary was built for";
    case ST_STREAM_PLAN: return "PSNT file is not the one this binary's streaming plan was made for";
    case ST_STREAM_READ: return "disc read of streamed weights failed 4 times";
    case ST_STREAM_CRC: return "streamed weights arrived with a wrong CRC 4 times";
    case ST_STREAM_ORDER: return "forward pass and streaming plan disagree on the tensor order";
    default: return "unknown error";
    }
}

static void copy_subject(StatusDetail *d, const char *subject)
{
    size_t i = 0;
    if (subject)
        for (; subject[i] && i + 1 < sizeof d->subject; i++)
            d->subject[i] = subject[i];
    d->subject[i] = '\0';
}

status_t status_fail(StatusDetail *detail, status_t code, const char *subject,
                     uint32_t got, uint32_t want)
{
    if (detail) {
        copy_subject(detail, subject);
        detail->got = got;
        detail->want = want;
        detail->has_values = 1;
    }
    return code;
}

status_t status_fail_plain(StatusDetail *detail, status_t code, const char *subject)
{
    if (detail) {
        copy_subject(detail, subject);
        detail->has_values = 0;
    }
    return code;
}
