#!/usr/bin/env node
import { annexRemoteMain } from '../dist/cli/annex-remote.js';

process.exitCode = await annexRemoteMain(process.stdin, process.stdout);
