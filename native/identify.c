// identify(path): what names a directory across remounts. Device and inode numbers are reused (a new
// tmpfs mounted where another was gets the same st_dev, and its root the same inode); a file handle
// (name_to_handle_at, what NFS uses to name a file across server reboots) holds the inode's
// generation too, which a filesystem draws at random for each new inode (tmpfs for every inode,
// ext4 for all but its root), and stays the same when the same filesystem is mounted again.
#define _GNU_SOURCE
#include "native.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_HANDLE 128

// identify(path): { handle: string ("<type>:<hex>", or "" where the filesystem has none), fields }
// Follows symlinks in the path, as stat does: it names what the path leads to.
napi_value Identify(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = argc == 1 ? string_arg(env, argv[0], "identify(path)") : NULL;
  if (!path) {
    if (argc != 1) napi_throw_type_error(env, NULL, "identify(path)");
    return NULL;
  }
  struct statx st;
  if (statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_WANTED, &st) != 0) {
    napi_value r = throw_errno(env, errno, "stat", path);
    free(path);
    return r;
  }
  char hex[2 * MAX_HANDLE + 16] = "";
  struct file_handle *fh = malloc(sizeof(struct file_handle) + MAX_HANDLE);
  int mount_id;
  if (fh) {
    fh->handle_bytes = MAX_HANDLE;
    if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, AT_SYMLINK_FOLLOW) == 0) {
      int n = snprintf(hex, sizeof hex, "%d:", fh->handle_type);
      for (unsigned i = 0; i < fh->handle_bytes && n + 2 < (int)sizeof hex; i++) n += snprintf(hex + n, sizeof hex - n, "%02x", fh->f_handle[i]);
    }
    free(fh);
  }
  free(path);
  napi_value result, handle, fields;
  if (napi_create_object(env, &result) != napi_ok || napi_create_string_utf8(env, hex, NAPI_AUTO_LENGTH, &handle) != napi_ok ||
      (fields = fields_array(env, &st)) == NULL || napi_set_named_property(env, result, "handle", handle) != napi_ok ||
      napi_set_named_property(env, result, "fields", fields) != napi_ok) return NULL;
  return result;
}
