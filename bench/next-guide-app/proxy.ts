import { clerkMiddleware } from "@clerk/nextjs/server";

// The same proxy as examples/nextjs/proxy.ts, plus the benchmark's floor route /api/noop.
//
// Public routes:
// - /api/webhooks: Clerk's webhook deliveries carry no session; the route verifies their
//   signature itself. Clerk's webhook guide requires this route to be public.
// - / : the listing page is public only so that this example runs without a Clerk account
//   (signing in needs Clerk's servers). In your app, remove it to require a session.
export default clerkMiddleware(async (auth, request) => {
  // A path test rather than createRouteMatcher, which current Clerk SDKs mark deprecated.
  const path = request.nextUrl.pathname;
  if (path === "/" || path.startsWith("/api/webhooks") || path === "/api/noop") return;
  await auth.protect();
});

export const config = {
  matcher: [
    // Skip Next.js internals and all static files, unless found in search params
    "/((?!_next|[^?]*\\.(?:html?|css|js(?!on)|jpe?g|webp|png|gif|svg|ttf|woff2?|ico|csv|docx?|xlsx?|zip|webmanifest)).*)",
    // Always run for API routes
    "/(api|trpc)(.*)",
  ],
};
