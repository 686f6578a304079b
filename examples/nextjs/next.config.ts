import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // better-sqlite3 is a native module: Node loads it at run time, it is never bundled. Next.js
  // already keeps it external by default; it is spelled out here so that the requirement shows.
  serverExternalPackages: ["better-sqlite3"],
  // Only because this example links clerk-sync from the repository (`file:../..`): let the
  // bundler read files there. An app that installs clerk-sync from npm does not need this.
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
};

export default nextConfig;
