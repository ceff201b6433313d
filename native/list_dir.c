// listDir: one directory's entries and their lstat, in one call. Node's lstatSync costs ~5 µs a file
// (a Stats object, Dates); fstatat relative to the open directory skips the path walk and the
// objects. Names come back joined by NUL in one string; the numbers in one BigInt64Array.
// The directory is reached from the root one component at a time, never through a symlink
// (open_beneath), so a tree changed while it is walked is never listed outside its root.
#define _GNU_SOURCE
#include "native.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

// F_KIND: 0 file, 1 dir, 2 symlink, 3 other; -1 lstat failed (F_MODE holds errno); -2 name not UTF-8.

static int valid_utf8(const unsigned char *s) {
  while (*s) {
    int n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2 : (*s & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || (n == 1 && *s < 0xC2) || (n == 3 && *s > 0xF4)) return 0;
    for (int i = 1; i <= n; i++) if ((s[i] & 0xC0) != 0x80) return 0;
    s += n + 1;
  }
  return 1;
}

struct buf { char *p; size_t len, cap; };

static int grow(struct buf *b, size_t need) {
  if (b->len + need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap * 2 : 4096;
  while (cap < b->len + need) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) return -1;
  b->p = p;
  b->cap = cap;
  return 0;
}

void fill_fields(int64_t *f, const struct statx *st) {
  mode_t m = st->stx_mode;
  f[F_KIND] = S_ISREG(m) ? 0 : S_ISDIR(m) ? 1 : S_ISLNK(m) ? 2 : 3;
  f[F_MODE] = m;
  f[F_UID] = st->stx_uid;
  f[F_GID] = st->stx_gid;
  f[F_SIZE] = (int64_t)st->stx_size;
  f[F_ATIME_S] = st->stx_atime.tv_sec;
  f[F_ATIME_NS] = st->stx_atime.tv_nsec;
  f[F_MTIME_S] = st->stx_mtime.tv_sec;
  f[F_MTIME_NS] = st->stx_mtime.tv_nsec;
  f[F_CTIME_S] = st->stx_ctime.tv_sec;
  f[F_CTIME_NS] = st->stx_ctime.tv_nsec;
  // As libuv does: 0 where the filesystem keeps no birth time.
  f[F_BTIME_S] = (st->stx_mask & STATX_BTIME) ? st->stx_btime.tv_sec : 0;
  f[F_BTIME_NS] = (st->stx_mask & STATX_BTIME) ? st->stx_btime.tv_nsec : 0;
  // st_dev as Node reports it (libuv: makedev of statx's major and minor).
  f[F_DEV] = (int64_t)makedev(st->stx_dev_major, st->stx_dev_minor);
  f[F_INO] = (int64_t)st->stx_ino;
  f[F_MNT] = (st->stx_mask & STATX_MNT_ID) ? (int64_t)st->stx_mnt_id : 0;
}

napi_value fields_array(napi_env env, const struct statx *st) {
  napi_value ab, arr;
  void *data = NULL;
  if (napi_create_arraybuffer(env, FIELDS * sizeof(int64_t), &data, &ab) != napi_ok) return NULL;
  fill_fields((int64_t *)data, st);
  if (napi_create_typedarray(env, napi_bigint64_array, FIELDS, ab, 0, &arr) != napi_ok) return NULL;
  return arr;
}

// listDir(root: string, rel: string): { names: string, fields: BigInt64Array }
napi_value ListDir(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 2) {
    napi_throw_type_error(env, NULL, "listDir(root, rel)");
    return NULL;
  }
  char *root = string_arg(env, argv[0], "listDir(root, rel)");
  if (!root) return NULL;
  char *rel = string_arg(env, argv[1], "listDir(root, rel)");
  if (!rel) {
    free(root);
    return NULL;
  }
  struct beneath_error e;
  int fd = open_beneath(root, -1, -1, rel, 0, 0, 1, &e);
  DIR *dir = fd < 0 ? NULL : fdopendir(fd);
  if (!dir) {
    napi_value r;
    if (fd >= 0) {
      int err = errno;
      close(fd);
      r = throw_errno(env, err, "scandir", rel);
    } else {
      r = throw_beneath(env, &e, "scandir");
    }
    free(root);
    free(rel);
    return r;
  }
  struct buf names = {0}, fields = {0};
  size_t count = 0;
  int err = 0;
  struct dirent *d;
  for (errno = 0; (d = readdir(dir)) != NULL; errno = 0) {
    if (d->d_name[0] == '.' && (d->d_name[1] == 0 || (d->d_name[1] == '.' && d->d_name[2] == 0))) continue;
    size_t n = strlen(d->d_name);
    if (grow(&names, n + 1) || grow(&fields, FIELDS * sizeof(int64_t))) { err = ENOMEM; break; }
    memcpy(names.p + names.len, d->d_name, n + 1); // the NUL is the separator
    names.len += n + 1;
    int64_t *f = (int64_t *)(fields.p + fields.len);
    memset(f, 0, FIELDS * sizeof(int64_t));
    fields.len += FIELDS * sizeof(int64_t);
    count++;
    if (!valid_utf8((const unsigned char *)d->d_name)) { f[F_KIND] = -2; continue; }
    struct statx st;
    if (statx(fd, d->d_name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_WANTED, &st) != 0) {
      f[F_KIND] = -1;
      f[F_MODE] = errno;
      continue;
    }
    fill_fields(f, &st);
  }
  if (!err && errno) err = errno;
  closedir(dir);
  if (err) {
    free(names.p);
    free(fields.p);
    napi_value r = throw_errno(env, err, "scandir", rel);
    free(root);
    free(rel);
    return r;
  }
  free(root);
  free(rel);
  // Every call is checked: while its thread is being terminated (the run stopping) N-API calls fail,
  // and using a value they did not make would crash the process.
  napi_value result = NULL, js_names, ab, arr;
  void *data = NULL;
  // The names may hold bytes that are not UTF-8 (flagged above); napi turns those into U+FFFD.
  if (napi_create_string_utf8(env, names.len ? names.p : "", names.len ? names.len - 1 : 0, &js_names) == napi_ok &&
      napi_create_arraybuffer(env, count * FIELDS * sizeof(int64_t), &data, &ab) == napi_ok &&
      (count == 0 || (memcpy(data, fields.p, count * FIELDS * sizeof(int64_t)), 1)) &&
      napi_create_typedarray(env, napi_bigint64_array, count * FIELDS, ab, 0, &arr) == napi_ok &&
      napi_create_object(env, &result) == napi_ok &&
      napi_set_named_property(env, result, "names", js_names) == napi_ok &&
      napi_set_named_property(env, result, "fields", arr) == napi_ok) {
    free(names.p);
    free(fields.p);
    return result;
  }
  free(names.p);
  free(fields.p);
  return NULL;
}
