// Paths below a root, resolved one component at a time relative to open directories, never through
// a symlink: another process that swaps a directory of the tree for a link while ferry works cannot
// lead a write, a delete or a read outside the root (openat with O_NOFOLLOW | O_DIRECTORY on each
// component). Every call is synchronous: ferry runs them on its I/O threads, never the main thread.
#define _GNU_SOURCE
#include "native.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
// A directory on the way is only a place to resolve the next name from: O_PATH opens it without the
// filesystem's own open (on FUSE, sshfs, NFS: no round trip to the server for each component), and
// every *at call ferry makes takes such a descriptor. Only a directory whose entries are read (a
// listing) is opened for reading.
#ifdef O_PATH
#define WALK_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#else
#define WALK_FLAGS DIR_FLAGS
#endif

// An Error with .code (the errno name), .rel (the part of the path it concerns) and, for ENOTDIR
// met on the way, .kind ("symlink", "file" or "other": what stands where a directory should be).
static napi_value throw_at(napi_env env, int err, const char *syscall, const char *rel, const char *kind) {
  char msg[600];
  if (kind) snprintf(msg, sizeof msg, "%s on the way is a %s, not a directory", rel, kind);
  else snprintf(msg, sizeof msg, "%s, %s '%s'", strerror(err), syscall, rel ? rel : "");
  napi_value code, message, error, v;
  const char *name = errno_name(err);
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok) return NULL;
  if (rel && napi_create_string_utf8(env, rel, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, error, "rel", v);
  if (kind && napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, error, "kind", v);
  napi_throw(env, error);
  return NULL;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  bool lossless;
  return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok ? 0 : -1;
}

static napi_value number(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

// What stands at `name` in `dirfd`, for an error message: a directory on the way that is not one.
static const char *kind_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return NULL;
  return S_ISLNK(st.st_mode) ? "symlink" : S_ISDIR(st.st_mode) ? NULL : S_ISREG(st.st_mode) ? "file" : "other";
}

int open_beneath(const char *root, int64_t pin_dev, int64_t pin_ino, char *rel, int create, int mode, int readable, struct beneath_error *e) {
  e->err = 0;
  e->kind = NULL;
  e->at = root;
  int fd = open(root, (readable && !*rel ? O_RDONLY : WALK_FLAGS & ~O_NOFOLLOW) | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    e->err = errno;
    return -1;
  }
  if (pin_dev >= 0) {
    struct stat st;
    if (fstat(fd, &st) != 0 || (int64_t)st.st_dev != pin_dev || (int64_t)st.st_ino != pin_ino) {
      close(fd);
      e->err = ENXIO;
      return -1;
    }
  }
  e->at = rel;
  // Walk "a/b/c": each part relative to the descriptor of the one before. While a part is worked on
  // the separator after it is cut, so an error names the path up to the failing part.
  for (char *part = rel, *end; *part; part = end) {
    end = strchr(part, '/');
    char saved = 0;
    if (end) {
      saved = *end;
      *end = 0;
    } else {
      end = part + strlen(part);
    }
    if (part[0] == 0 || strcmp(part, ".") == 0 || strcmp(part, "..") == 0) {
      close(fd);
      e->err = EINVAL;
      return -1;
    }
    int flags = readable && !saved ? DIR_FLAGS : WALK_FLAGS;
    int next = openat(fd, part, flags);
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat(fd, part, (mode_t)mode) != 0 && errno != EEXIST) {
        e->err = errno;
        close(fd);
        return -1;
      }
      next = openat(fd, part, flags);
    }
    if (next < 0) {
      e->err = errno;
      e->kind = (e->err == ELOOP || e->err == ENOTDIR) ? kind_at(fd, part) : NULL;
      if (e->kind) e->err = ENOTDIR;
      close(fd);
      return -1;
    }
    close(fd);
    fd = next;
    if (saved) *end++ = saved;
  }
  return fd;
}

napi_value throw_beneath(napi_env env, const struct beneath_error *e, const char *syscall) {
  return throw_at(env, e->err, syscall, e->at, e->kind);
}

// dirOpen(root, pinDev, pinIno, relDir, create, dirMode) → fd of root/relDir (see open_beneath).
napi_value DirOpen(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t pin_dev, pin_ino;
  bool create;
  int32_t mode;
  if (argc != 6 || get_i64(env, argv[1], &pin_dev) || get_i64(env, argv[2], &pin_ino) ||
      napi_get_value_bool(env, argv[4], &create) != napi_ok || get_i32(env, argv[5], &mode)) {
    napi_throw_type_error(env, NULL, "dirOpen(root, pinDev, pinIno, relDir, create, dirMode)");
    return NULL;
  }
  char *root = string_arg(env, argv[0], "dirOpen: root must be a string");
  if (!root) return NULL;
  char *rel = string_arg(env, argv[3], "dirOpen: relDir must be a string");
  if (!rel) {
    free(root);
    return NULL;
  }
  struct beneath_error e;
  int fd = open_beneath(root, pin_dev, pin_ino, rel, create, mode, 0, &e);
  napi_value result = fd < 0 ? throw_beneath(env, &e, e.err == EEXIST || create ? "mkdir" : "openat") : number(env, fd);
  free(root);
  free(rel);
  return result;
}

// openAt(dirfd, name, flags, mode) → fd. Flags as Node's fs.constants (O_NOFOLLOW and O_CLOEXEC added).
napi_value OpenAt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd, flags, mode;
  if (argc != 4 || get_i32(env, argv[0], &dirfd) || get_i32(env, argv[2], &flags) || get_i32(env, argv[3], &mode)) {
    napi_throw_type_error(env, NULL, "openAt(dirfd, name, flags, mode)");
    return NULL;
  }
  char *name = string_arg(env, argv[1], "openAt: name must be a string");
  if (!name) return NULL;
  int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
  napi_value r = fd < 0 ? throw_at(env, errno, "open", name, NULL) : number(env, fd);
  free(name);
  return r;
}

// renameAt(fromDirfd, from, toDirfd, to, noReplace): renameat2, RENAME_NOREPLACE when asked.
napi_value RenameAt(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t from_fd, to_fd;
  bool no_replace;
  if (argc != 5 || get_i32(env, argv[0], &from_fd) || get_i32(env, argv[2], &to_fd) || napi_get_value_bool(env, argv[4], &no_replace) != napi_ok) {
    napi_throw_type_error(env, NULL, "renameAt(fromDirfd, from, toDirfd, to, noReplace)");
    return NULL;
  }
  char *from = string_arg(env, argv[1], "renameAt: names must be strings");
  if (!from) return NULL;
  char *to = string_arg(env, argv[3], "renameAt: names must be strings");
  if (!to) {
    free(from);
    return NULL;
  }
  int rc = no_replace ? renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) : renameat(from_fd, from, to_fd, to);
  napi_value r = rc != 0 ? throw_at(env, errno, "rename", to, NULL) : NULL;
  free(from);
  free(to);
  return r;
}

// unlinkAt(dirfd, name, isDir): unlinkat, with AT_REMOVEDIR for a directory (which must be empty).
napi_value UnlinkAt(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd;
  bool is_dir;
  if (argc != 3 || get_i32(env, argv[0], &dirfd) || napi_get_value_bool(env, argv[2], &is_dir) != napi_ok) {
    napi_throw_type_error(env, NULL, "unlinkAt(dirfd, name, isDir)");
    return NULL;
  }
  char *name = string_arg(env, argv[1], "unlinkAt: name must be a string");
  if (!name) return NULL;
  napi_value r = unlinkat(dirfd, name, is_dir ? AT_REMOVEDIR : 0) != 0 ? throw_at(env, errno, "unlink", name, NULL) : NULL;
  free(name);
  return r;
}

// mkdirAt(dirfd, name, mode)
napi_value MkdirAt(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd, mode;
  if (argc != 3 || get_i32(env, argv[0], &dirfd) || get_i32(env, argv[2], &mode)) {
    napi_throw_type_error(env, NULL, "mkdirAt(dirfd, name, mode)");
    return NULL;
  }
  char *name = string_arg(env, argv[1], "mkdirAt: name must be a string");
  if (!name) return NULL;
  napi_value r = mkdirat(dirfd, name, (mode_t)mode) != 0 ? throw_at(env, errno, "mkdir", name, NULL) : NULL;
  free(name);
  return r;
}

// symlinkAt(linkTarget, dirfd, name)
napi_value SymlinkAt(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd;
  if (argc != 3 || get_i32(env, argv[1], &dirfd)) {
    napi_throw_type_error(env, NULL, "symlinkAt(linkTarget, dirfd, name)");
    return NULL;
  }
  char *target = string_arg(env, argv[0], "symlinkAt: the link target must be a string");
  if (!target) return NULL;
  char *name = string_arg(env, argv[2], "symlinkAt: name must be a string");
  if (!name) {
    free(target);
    return NULL;
  }
  napi_value r = symlinkat(target, dirfd, name) != 0 ? throw_at(env, errno, "symlink", name, NULL) : NULL;
  free(target);
  free(name);
  return r;
}

// readlinkAt(dirfd, name) → the link's target.
napi_value ReadlinkAt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd;
  if (argc != 2 || get_i32(env, argv[0], &dirfd)) {
    napi_throw_type_error(env, NULL, "readlinkAt(dirfd, name)");
    return NULL;
  }
  char *name = string_arg(env, argv[1], "readlinkAt: name must be a string");
  if (!name) return NULL;
  char buf[4097];
  ssize_t n = readlinkat(dirfd, name, buf, sizeof buf - 1);
  napi_value r = NULL;
  if (n < 0) r = throw_at(env, errno, "readlink", name, NULL);
  else napi_create_string_utf8(env, buf, (size_t)n, &r);
  free(name);
  return r;
}

// utimensAt(dirfd, name, atimeNs, mtimeNs): utimensat without following a final symlink; name ""
// sets the times of the directory dirfd itself.
napi_value UtimensAt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd;
  struct timespec ts[2];
  if (argc != 4 || get_i32(env, argv[0], &dirfd) || to_timespec(env, argv[2], &ts[0]) || to_timespec(env, argv[3], &ts[1])) {
    napi_throw_type_error(env, NULL, "utimensAt(dirfd, name, atimeNs, mtimeNs)");
    return NULL;
  }
  char *name = string_arg(env, argv[1], "utimensAt: name must be a string");
  if (!name) return NULL;
  int rc = name[0] ? utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) : futimens(dirfd, ts);
  if (rc != 0 && !name[0] && errno == EBADF) {
    // The directory itself, held by an O_PATH descriptor (open_beneath): futimens needs one opened.
    int real = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = real < 0 ? -1 : futimens(real, ts);
    if (real >= 0) {
      int saved = errno;
      close(real);
      errno = saved;
    }
  }
  napi_value r = rc != 0 ? throw_at(env, errno, "utimensat", name, NULL) : NULL;
  free(name);
  return r;
}

// chownAt(dirfd, name, uid, gid): fchownat without following a final symlink.
napi_value ChownAt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd, uid, gid;
  if (argc != 4 || get_i32(env, argv[0], &dirfd) || get_i32(env, argv[2], &uid) || get_i32(env, argv[3], &gid)) {
    napi_throw_type_error(env, NULL, "chownAt(dirfd, name, uid, gid)");
    return NULL;
  }
  char *name = string_arg(env, argv[1], "chownAt: name must be a string");
  if (!name) return NULL;
  int rc = fchownat(dirfd, name, (uid_t)uid, (gid_t)gid, name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH);
  napi_value r = rc != 0 ? throw_at(env, errno, "chown", name, NULL) : NULL;
  free(name);
  return r;
}

// statAt(dirfd, name) → the FIELDS numbers of list_dir.c for that entry (lstat: a final symlink is
// the link); name "" is dirfd itself.
napi_value StatAt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t dirfd;
  if (argc != 2 || get_i32(env, argv[0], &dirfd)) {
    napi_throw_type_error(env, NULL, "statAt(dirfd, name)");
    return NULL;
  }
  char *name = string_arg(env, argv[1], "statAt: name must be a string");
  if (!name) return NULL;
  struct statx st;
  int flags = AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT | (name[0] ? 0 : AT_EMPTY_PATH);
  napi_value r = NULL;
  if (statx(dirfd, name, flags, STATX_WANTED, &st) != 0) {
    r = throw_at(env, errno, "lstat", name, NULL);
  } else {
    r = fields_array(env, &st);
  }
  free(name);
  return r;
}

// flock(fd, exclusive, wait): flock(2). Without `wait`, a lock held elsewhere throws EWOULDBLOCK
// (code "EAGAIN"). The lock goes with the open file description: it dies with the process.
napi_value Flock(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  bool exclusive, wait;
  if (argc != 3 || get_i32(env, argv[0], &fd) || napi_get_value_bool(env, argv[1], &exclusive) != napi_ok ||
      napi_get_value_bool(env, argv[2], &wait) != napi_ok) {
    napi_throw_type_error(env, NULL, "flock(fd, exclusive, wait)");
    return NULL;
  }
  if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) != 0) return throw_at(env, errno, "flock", NULL, NULL);
  return NULL;
}

// close(fd): for descriptors this helper opened. Node's fs.close warns about (and a worker's exit
// closes) descriptors that Node's own fs calls opened on another thread; these it never tracked.
napi_value CloseFd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc != 1 || get_i32(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "close(fd)");
    return NULL;
  }
  if (close(fd) != 0 && errno != EINTR) return throw_at(env, errno, "close", NULL, NULL);
  return NULL;
}
