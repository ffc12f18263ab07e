/* Tokenizer of the runtime: text -> token ids and token -> text, from the PSNT
 * tokenizer section (docs/FORMAT.md, "Tokenizer section").
 *
 * The C twin of model/tokenizer.py: the same ids for every input, tested against it
 * (tests/test_tokenizer.py). SentencePiece BPE and unigram, byte-level BPE with the
 * GPT-2, SmolLM and Llama 3 pre-tokenizers, special tokens written in the text,
 * ChatML prompts. Invalid UTF-8 is accepted: each byte that does not start a
 * well-formed sequence is a character of its own that only byte tokens match.
 *
 * No malloc: tok_load takes its memory (hash tables, per-token arrays; about
 * 1.5 MB for a 49k-token byte-level vocab) from the caller's allocator, and keeps
 * pointers into the section, which must outlive the tokenizer. Encoding works in
 * a caller-provided scratch buffer (tok_scratch_size). Needs only <stdint.h>,
 * <stddef.h> and memcpy/memcmp/memset from <string.h>. Errors are negative
 * status codes. */
#ifndef PS2LLM_TOKENIZER_H
#define PS2LLM_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

enum tok_status {
    TOK_OK = 0,
    TOK_ERR_FORMAT = -1,     /* the section is corrupt or inconsistent */
    TOK_ERR_NOMEM = -2,      /* the allocator returned NULL */
    TOK_ERR_OUT_FULL = -3,   /* more ids than max_out, or more bytes than cap */
    TOK_ERR_SCRATCH = -4,    /* scratch smaller than tok_scratch_size() */
    TOK_ERR_ARG = -5,        /* NULL pointer, token id out of range */
    TOK_ERR_NO_CHATML = -6   /* the vocab has no <|im_start|> / <|im_end|> */
};

enum tok_kind { TOK_SP_BPE = 1, TOK_SP_UNIGRAM = 2, TOK_BYTE_BPE = 3 };
enum tok_pretokenizer { TOK_PRE_NONE = 0, TOK_PRE_GPT2 = 1, TOK_PRE_SMOLLM = 2, TOK_PRE_LLAMA3 = 3 };
enum tok_type { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_USER_DEFINED = 4,
                TOK_UNUSED = 5, TOK_BYTE = 6 };
enum tok_class { TOK_CLASS_OTHER = 0, TOK_CLASS_LETTER = 1, TOK_CLASS_NUMBER = 2, TOK_CLASS_SPACE = 3 };

/* Returns size bytes aligned to at least 4, or NULL when out of memory. */
typedef void *(*tok_alloc_fn)(void *ctx, size_t size);

typedef struct tokenizer {
    uint32_t kind, n_tokens, n_merges, flags, pretokenizer, max_token_len;
    int32_t bos_id, eos_id, unk_id, pad_id, im_start_id, im_end_id;
    const uint8_t *section;        /* the section, kept: pieces point into it */
    const uint8_t *chat_template;  uint32_t chat_template_len;
    const uint8_t *default_system; uint32_t default_system_len;  /* NULL: none */
    uint32_t *piece_off;           /* (n_tokens,) offset of each token's bytes */
    uint16_t *piece_len;           /* (n_tokens,) */
    float *score;                  /* (n_tokens,) */
    uint8_t *type;                 /* (n_tokens,) enum tok_type */
    int32_t *lookup;               /* (lookup_mask+1,) token ids by bytes, -1 empty */
    uint32_t lookup_mask;
    int32_t byte_id[256];          /* token of each byte (byte fallback / byte level) */
    int byte_fallback;             /* SentencePiece: all 256 <0xAB> tokens exist */
    const uint8_t *merges;         /* n_merges x (u32 left, u32 right), in the section */
    int32_t *merge_result;         /* (n_merges,) id of the merged token */
    int32_t *merge_lookup;         /* (merge_mask+1,) merge rank by pair, -1 empty */
    uint32_t merge_mask;
    int32_t *special;              /* ids of CONTROL/USER_DEFINED tokens, id order */
    uint32_t n_special;
    uint8_t special_first[256];    /* bit 0: a default-mode special starts with this
                                      byte; bit 1: a control-mode one does */
    float unk_score;               /* unigram: min NORMAL score - 10 */
} tokenizer;

/* Parse and validate a tokenizer section of size bytes (the exact section size,
 * without sector padding) and build the lookup tables. TOK_OK or an error;
 * never reads outside [section, section + size). */
int tok_load(tokenizer *tok, const uint8_t *section, size_t size,
             tok_alloc_fn alloc, void *alloc_ctx);

/* Scratch bytes tok_encode needs for a text of text_len bytes. */
size_t tok_scratch_size(const tokenizer *tok, size_t text_len);

/* Encode text into out[0..max_out). add_bos: 1 yes, 0 no, -1 the vocab's default.
 * special: special tokens written in the text become their id: -1 as the
 * reference library does (byte-level BPE: control and user-defined tokens,
 * SentencePiece: user-defined only), 1 control tokens too, 0 none.
 * Returns the number of ids or a negative tok_status. */
int tok_encode(const tokenizer *tok, const uint8_t *text, size_t len, int add_bos,
               int special, int32_t *out, int max_out, void *scratch, size_t scratch_size);

/* Bytes of token id for streaming output, given the token before it (-1 at the
 * start): SentencePiece drops the dummy-prefix space of the first piece (at the
 * start or after BOS) and prints control tokens as nothing. Returns the length
 * written to out, or a negative tok_status. */
int tok_decode_piece(const tokenizer *tok, int prev, int id, uint8_t *out, size_t cap);

/* The ChatML prompt for one user message: the model's default system message if
 * its template adds one, then <|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n,
 * with the markers as control tokens. Same ids as model.tokenizer's
 * encode_chat([{"role": "user", "content": user}]). */
size_t tok_chat_scratch_size(const tokenizer *tok, size_t user_len);
int tok_encode_chat(const tokenizer *tok, const uint8_t *user, size_t user_len,
                    int32_t *out, int max_out, void *scratch, size_t scratch_size);

/* Class of a code point (enum tok_class); generated by codegen/unicode_tables.py
 * into unicode_tables.gen.c. */
int tok_unicode_class(uint32_t cp);

#endif
