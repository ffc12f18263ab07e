/* generated from templates/plan.gen.c.jinja for golden-tiny (fixed test config);
 * do not edit: change the template or codegen/ and rebuild. */

/* The residency plan (no plan file: every tensor resident): the tensors streamed from the disc every
 * token, in the order forward.c uses them, and the CRC32 of each block of rows
 * (and of each sector of a streamed token embedding), computed from the PSNT's data.
 * C arrays cannot be empty: an unused one has a single zero entry. */
#include "stream.h"

const StreamTensorPlan model_stream_tensors[1] = {
    { 0u, 0u, 0u, 0u, 0u, 0u },
};

const uint32_t model_stream_block_crc[1] = {
0x00000000u,
};

const uint32_t model_embedding_sector_crc[1] = {
0x00000000u,
};
