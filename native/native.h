// Shared by ferry's native helper files.
#pragma once
#include <node_api.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

// The errno's name ("ENOENT", "EACCES", …), or "EUNKNOWN".
const char *errno_name(int err);

// Throws an Error whose .code is the errno name (ENOENT, EACCES…) and returns NULL.
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path);

// The string argument `v` as a malloc'd UTF-8 copy the caller frees; NULL (with a TypeError thrown
// that names `usage`) when it is not a string or memory runs out.
char *string_arg(napi_env env, napi_value v, const char *usage);

// A BigInt of nanoseconds as a timespec; -1 when it is not a BigInt that fits.
int to_timespec(napi_env env, napi_value v, struct timespec *ts);

// Per entry, in this order (keep in step with src/io/list-dir.ts).
enum { F_KIND, F_MODE, F_UID, F_GID, F_SIZE, F_ATIME_S, F_ATIME_NS, F_MTIME_S, F_MTIME_NS,
       F_CTIME_S, F_CTIME_NS, F_BTIME_S, F_BTIME_NS, F_DEV, F_INO, F_MNT, FIELDS };

// What every statx of the helper asks for: F_MNT is the mount's id (bind mounts share st_dev, not it).
#define STATX_WANTED (STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID)

// Fills FIELDS numbers from a statx result.
void fill_fields(int64_t *f, const struct statx *st);

// A BigInt64Array of FIELDS numbers for one statx result.
napi_value fields_array(napi_env env, const struct statx *st);

// list_dir.c
napi_value ListDir(napi_env env, napi_callback_info info);
// identify.c
napi_value Identify(napi_env env, napi_callback_info info);
// beneath.c
struct beneath_error {
  int err;          // errno
  const char *kind; // with ENOTDIR: "symlink", "file" or "other", what stands where a directory should
  const char *at;   // the root, or the relative path up to the part that failed
};
// Opens root (by its path; with pin_dev >= 0 it must still be that device and inode, else ENXIO),
// then each part of `rel` (cut in place while walked, restored after) relative to the one before with
// O_NOFOLLOW | O_DIRECTORY (O_PATH but for the last part when `readable`: a listing reads it); with
// `create`, a missing part is made with `mode`. -1 with *e filled on error.
int open_beneath(const char *root, int64_t pin_dev, int64_t pin_ino, char *rel, int create, int mode, int readable, struct beneath_error *e);
napi_value throw_beneath(napi_env env, const struct beneath_error *e, const char *syscall);
napi_value DirOpen(napi_env env, napi_callback_info info);
napi_value OpenAt(napi_env env, napi_callback_info info);
napi_value RenameAt(napi_env env, napi_callback_info info);
napi_value UnlinkAt(napi_env env, napi_callback_info info);
napi_value MkdirAt(napi_env env, napi_callback_info info);
napi_value SymlinkAt(napi_env env, napi_callback_info info);
napi_value ReadlinkAt(napi_env env, napi_callback_info info);
napi_value UtimensAt(napi_env env, napi_callback_info info);
napi_value ChownAt(napi_env env, napi_callback_info info);
napi_value StatAt(napi_env env, napi_callback_info info);
napi_value Flock(napi_env env, napi_callback_info info);
napi_value CloseFd(napi_env env, napi_callback_info info);
