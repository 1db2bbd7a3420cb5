#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, like the services.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
