// The floor of the benchmark: the same Next.js app and proxy, a route that reads the body and
// answers 200. What a webhook route costs on top of Next.js is its time above this one.
export async function POST(req: Request) {
  await req.arrayBuffer();
  return new Response("ok", { status: 200 });
}
