import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // better-sqlite3 is a native module: Node loads it at run time, it is never bundled. Next.js
  // already keeps it external by default; it is spelled out here so that the requirement shows.
  serverExternalPackages: ["better-sqlite3"],
  // Only because this example sits inside the clerk-sync repository, whose own lockfile Next.js
  // would otherwise take for the workspace root: the app is this folder. Not needed in your app.
  turbopack: { root: fileURLToPath(new URL(".", import.meta.url)) },
};

export default nextConfig;
