// Shared by ferry's native helper files.
#pragma once
#include <node_api.h>

// Throws an Error whose .code is the errno name (ENOENT, EACCES…) and returns NULL.
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path);

// The string argument `v` as a malloc'd UTF-8 copy the caller frees; NULL (with a TypeError thrown
// that names `usage`) when it is not a string or memory runs out.
char *string_arg(napi_env env, napi_value v, const char *usage);

// listDir(path: string): { names: string, fields: BigInt64Array } (list_dir.c)
napi_value ListDir(napi_env env, napi_callback_info info);
