/* iso9660.h — find a file in the root directory of an ISO 9660 disc, through
 * hal_read. Portable C above the hardware layer, the same on every port.
 *
 * A disc whose sector 16 is not an ISO 9660 primary volume descriptor ("CD001")
 * is taken to be a bare PSNT image: it then holds one file, MODEL.PSN, at LBA 0
 * spanning the whole disc. So the host build runs directly on build/x/model.psnt. */
#ifndef PS2LLM_ISO9660_H
#define PS2LLM_ISO9660_H

#include <stdint.h>

#define ISO_BARE_IMAGE_FILE "MODEL.PSN"

/* Look up `name` (e.g. "MODEL.PSN"; case-insensitive, the ";1" version suffix is
 * ignored) in the root directory. On success *lba and *size (bytes) are set and
 * HAL_OK is returned; otherwise HAL_ERR_NOT_FOUND or a read error. */
int iso_find_file(const char *name, uint32_t *lba, uint32_t *size);

#endif
