import type { ClerkEventType } from "../core/events.js";
import { freshExample, newClerkId } from "./fixtures.js";

/** One step of a scenario: an event ready to sign and send. */
export interface ScenarioEvent {
  type: ClerkEventType;
  event: Record<string, unknown> & { data: Record<string, unknown> };
}

/** Scenario names `clerk-sync send --scenario` knows. */
export const SCENARIOS = ["signup"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/**
 * A coherent story with consistent ids: a user signs up and starts a session, creates an
 * organization (becoming its admin), invites a second user who signs up and accepts, then the
 * first user is deleted (and with them their membership). Times increase by a second per step.
 *
 * @example
 * for (const { event } of signupScenario()) await send(event);
 */
export function signupScenario(options: { now?: number } = {}): ScenarioEvent[] {
  let t = options.now ?? Date.now();
  const steps: ScenarioEvent[] = [];
  const step = (type: ClerkEventType, id: string | undefined, edit: (data: Record<string, unknown>) => void) => {
    t += 1000;
    const event = freshExample(type, { now: t, ...(id ? { id } : {}) });
    edit(event.data);
    steps.push({ type, event });
    return event.data;
  };

  const owner = step("user.created", undefined, (d) => {
    d.first_name = "Olivia";
    d.last_name = "Owner";
  });
  const ownerId = owner.id as string;
  step("session.created", undefined, (d) => {
    d.user_id = ownerId;
    d.status = "active";
    d.last_active_organization_id = null;
  });
  const org = step("organization.created", undefined, (d) => {
    d.name = "Acme Corp";
    d.slug = `acme-${String(d.id).slice(-6).toLowerCase()}`;
    d.created_by = ownerId;
  });
  const orgId = org.id as string;
  const membership = (userId: string, role: string, first: string) => (d: Record<string, unknown>) => {
    d.role = role;
    d.organization = { ...(d.organization as object), id: orgId, name: org.name, slug: org.slug };
    d.public_user_data = { ...(d.public_user_data as object), user_id: userId, first_name: first };
  };
  const ownerMembershipId = newClerkId("orgmem");
  step("organizationMembership.created", ownerMembershipId, membership(ownerId, "org:admin", "Olivia"));
  const invitation = step("organizationInvitation.created", undefined, (d) => {
    d.organization_id = orgId;
    d.email_address = "max.member@example.com";
    d.role = "org:member";
    d.status = "pending";
  });
  const member = step("user.created", undefined, (d) => {
    d.first_name = "Max";
    d.last_name = "Member";
    const emails = d.email_addresses as { email_address: string }[];
    if (emails[0]) emails[0].email_address = "max.member@example.com";
  });
  const memberId = member.id as string;
  step("organizationInvitation.accepted", invitation.id as string, (d) => {
    d.organization_id = orgId;
    d.email_address = "max.member@example.com";
    d.role = "org:member";
    d.status = "accepted";
    d.user_id = memberId;
  });
  step("organizationMembership.created", undefined, membership(memberId, "org:member", "Max"));
  step("organizationMembership.deleted", ownerMembershipId, membership(ownerId, "org:admin", "Olivia"));
  step("user.deleted", ownerId, (d) => {
    d.external_id = null;
  });
  return steps;
}
