/* iso9660.c — root-directory lookup (ECMA-119: volume descriptors from sector 16;
 * the primary one holds the root directory record at byte 156; a directory
 * record is length, ..., extent LBA at 2 (both-endian, the little-endian half
 * first), data length at 10, flags at 25, name length at 32, name at 33). */
#include "iso9660.h"

#include "hal.h"

#define PVD_SECTOR 16u
#define ROOT_RECORD 156u
#define FLAG_DIRECTORY 0x02u

static uint8_t sector[HAL_SECTOR_SIZE] __attribute__((aligned(64)));

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Record name (without ";version" and a trailing '.') equals name, ignoring case. */
static int name_matches(const uint8_t *rec_name, uint32_t len, const char *name)
{
    uint32_t i;
    for (i = 0; i < len && rec_name[i] != ';'; i++)
        ;
    len = i;
    if (len > 0 && rec_name[len - 1] == '.')
        len--;
    for (i = 0; i < len; i++)
        if (!name[i] || upper((char)rec_name[i]) != upper(name[i]))
            return 0;
    return name[len] == '\0';
}

static int is_primary_volume(void)
{
    static const char id[] = "CD001";
    int i;
    if (sector[0] != 1)
        return 0;
    for (i = 0; i < 5; i++)
        if (sector[1 + i] != (uint8_t)id[i])
            return 0;
    return 1;
}

int iso_find_file(const char *name, uint32_t *lba, uint32_t *size)
{
    uint32_t dir_lba, dir_size, s;
    int st = hal_disc_sectors() > PVD_SECTOR ? hal_read(PVD_SECTOR, 1, sector) : HAL_ERR_RANGE;
    if (st == HAL_ERR_RANGE || (st == HAL_OK && !is_primary_volume())) {
        if (!name_matches((const uint8_t *)ISO_BARE_IMAGE_FILE, 9, name))
            return HAL_ERR_NOT_FOUND;
        *lba = 0;
        *size = hal_disc_sectors() * HAL_SECTOR_SIZE;
        return HAL_OK;
    }
    if (st != HAL_OK)
        return st;
    dir_lba = le32(sector + ROOT_RECORD + 2);
    dir_size = le32(sector + ROOT_RECORD + 10);
    for (s = 0; s < (dir_size + HAL_SECTOR_SIZE - 1) / HAL_SECTOR_SIZE; s++) {
        uint32_t pos = 0;
        st = hal_read(dir_lba + s, 1, sector);
        if (st != HAL_OK)
            return st;
        while (pos + 33 < HAL_SECTOR_SIZE && sector[pos] != 0) {
            const uint8_t *rec = sector + pos;
            uint32_t rec_len = rec[0], name_len = rec[32];
            if (rec_len < 33 + name_len || pos + rec_len > HAL_SECTOR_SIZE)
                break;      /* malformed record: stop looking in this sector */
            if (!(rec[25] & FLAG_DIRECTORY) && name_matches(rec + 33, name_len, name)) {
                *lba = le32(rec + 2);
                *size = le32(rec + 10);
                return HAL_OK;
            }
            pos += rec_len;
        }
    }
    return HAL_ERR_NOT_FOUND;
}
