import { auth } from "@clerk/nextjs/server";
import { redirect } from "next/navigation";
import { sync } from "../../lib/clerk-sync";

// Where sign-up sends the new user (e.g. <SignUp forceRedirectUrl="/welcome" />). The browser
// often gets here before Clerk's user.created webhook has been delivered: ensureUser returns the
// mirrored row, fetching it from Clerk's Backend API and writing it through the same sync rules
// when it is not there yet, so it can race the webhook safely. Not public in proxy.ts: it needs
// a signed-in user.
export default async function Welcome() {
  const { userId } = await auth();
  if (!userId) redirect("/");
  const user = await sync.ensureUser(userId);
  if (!user) redirect("/"); // deleted in Clerk meanwhile
  return (
    <main>
      <h1>Welcome, {user.first_name ?? user.primary_email_address ?? user.id}</h1>
      <p className="muted">
        Your row in <code>clerk_users</code> is there, whichever came first: this page or Clerk's webhook.
      </p>
    </main>
  );
}
