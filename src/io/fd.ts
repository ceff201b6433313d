import { close, fdatasync, fstat, read, write, type BigIntStats } from 'node:fs';
import { addon } from './native.js';

/**
 * Promise forms of the descriptor calls ferry makes on the main thread (libuv's threads do the
 * syscalls). Descriptors come from the I/O pool (io/beneath-ops.ts): files opened below a root
 * without following links, which Node's own `open` cannot do.
 */
export function readAt(fd: number, into: Uint8Array, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, into, at, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

export function writeAt(fd: number, data: Uint8Array, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, data, at, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

export function statFd(fd: number): Promise<BigIntStats> {
  return new Promise((resolve, reject) => fstat(fd, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}

export function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Closes a descriptor the I/O pool opened (by the native helper when it did: see beneath.ts closeFile). */
export function closeFd(fd: number): Promise<void> {
  if (addon) return Promise.resolve().then(() => addon!.close(fd));
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}
