// ferry's one native helper: nanosecond timestamps (libuv's utimes truncates to microseconds),
// syncfs (flush one filesystem), listDir (list_dir.c: a directory's entries with their lstat),
// identify (identify.c: what names a directory across remounts), and the descriptor-relative calls
// of beneath.c (writes, deletes and reads that never leave a root, and flock).
// Linux only; without it ferry falls back to Node's own calls by path (see src/io/native.ts).
#define _GNU_SOURCE
#include "native.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EEXIST: return "EEXIST";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EXDEV: return "EXDEV";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOSYS: return "ENOSYS";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EIO: return "EIO";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ESTALE: return "ESTALE";
    case EBUSY: return "EBUSY";
    case EOVERFLOW: return "EOVERFLOW";
    case ENXIO: return "ENXIO";
    case EAGAIN: return "EAGAIN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ETXTBSY: return "ETXTBSY";
    default: return "EUNKNOWN"; // the message still carries strerror(err)
  }
}

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s, %s '%s'", strerror(err), syscall, path ? path : "");
  napi_throw_error(env, errno_name(err), msg);
  return NULL;
}

// Nanoseconds as a BigInt of any size that fits 128 bits: dates past 2262 (or before 1677) do not fit
// int64 nanoseconds but do fit a timespec.
int to_timespec(napi_env env, napi_value v, struct timespec *ts) {
  int sign = 0;
  size_t count = 2;
  uint64_t words[2] = {0, 0};
  if (napi_get_value_bigint_words(env, v, &sign, &count, words) != napi_ok || count > 2) return -1;
  unsigned __int128 mag = ((unsigned __int128)words[1] << 64) | words[0];
  __int128 sec = (__int128)(mag / 1000000000u);
  __int128 rem = (__int128)(mag % 1000000000u);
  if (sign) {
    sec = -sec;
    rem = -rem;
    if (rem < 0) { rem += 1000000000; sec -= 1; }
  }
  ts->tv_sec = (time_t)sec;
  ts->tv_nsec = (long)rem;
  return 0;
}

char *string_arg(napi_env env, napi_value v, const char *usage) {
  size_t len = 0;
  char *s = NULL;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || !(s = malloc(len + 1))) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

// utimens(path: string, atimeNs: bigint, mtimeNs: bigint): void — does not follow a final symlink.
static napi_value Utimens(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = argc == 3 ? string_arg(env, argv[0], "utimens(path, atimeNs, mtimeNs)") : NULL;
  if (!path) {
    if (argc != 3) napi_throw_type_error(env, NULL, "utimens(path, atimeNs, mtimeNs)");
    return NULL;
  }
  struct timespec ts[2];
  if (to_timespec(env, argv[1], &ts[0]) || to_timespec(env, argv[2], &ts[1])) {
    free(path);
    napi_throw_type_error(env, NULL, "utimens: times must be bigint nanoseconds");
    return NULL;
  }
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0) {
    int err = errno;
    napi_value r = throw_errno(env, err, "utimensat", path);
    free(path);
    return r;
  }
  free(path);
  return NULL;
}

// syncfs(fd: number): void — flushes the whole filesystem that holds fd.
static napi_value Syncfs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "syncfs(fd)");
    return NULL;
  }
  if (syncfs(fd) != 0) return throw_errno(env, errno, "syncfs", NULL);
  return NULL;
}

#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    FN("utimens", Utimens), FN("syncfs", Syncfs), FN("listDir", ListDir), FN("identify", Identify),
    FN("dirOpen", DirOpen), FN("openAt", OpenAt), FN("renameAt", RenameAt), FN("unlinkAt", UnlinkAt),
    FN("mkdirAt", MkdirAt), FN("symlinkAt", SymlinkAt), FN("readlinkAt", ReadlinkAt), FN("utimensAt", UtimensAt),
    FN("chownAt", ChownAt), FN("statAt", StatAt), FN("flock", Flock), FN("close", CloseFd),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
