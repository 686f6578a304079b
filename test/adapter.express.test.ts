import express from "express";
import express4 from "express4";
import { clerkSyncMiddleware } from "../src/adapters/express.js";
import { describeAdapterConformance, WEBHOOK_PATH } from "./conformance/adapter-suite.js";
import { serveExpress } from "./helpers/http-servers.js";

/**
 * The suite against each Express major the peer range allows (`^4.17.0 || ^5.0.0`): Express 5
 * (`express`) and Express 4 (the npm alias `express4`). Their body parsers differ: Express 4's
 * leave `{}` in `req.body` on a request they skip, Express 5's leave it undefined.
 */
const MAJORS = [
  { name: "express 5", express },
  { name: "express 4", express: express4 },
] as const;

for (const { name, express: e } of MAJORS) {
  const serve = (setup: Parameters<typeof serveExpress>[0]) => serveExpress(setup, e);
  describeAdapterConformance({
    name,
    // app.all: every method reaches the adapter (with app.post, Express itself answers 404 to a GET).
    mount: (receiver) => serve((app) => app.all(WEBHOOK_PATH, clerkSyncMiddleware(receiver))),
    variants: [
      {
        name: "with app.post, before express.json() (as in the docs)",
        mount: (receiver) =>
          serve((app) => {
            app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
            app.use(e.json());
          }),
      },
      {
        name: "after express.json()",
        refuses: "body_already_parsed",
        mount: (receiver) =>
          serve((app) => {
            app.use(e.json());
            app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
          }),
      },
      {
        name: 'after express.text({ type: "*/*" })',
        refuses: "body_already_parsed",
        mount: (receiver) =>
          serve((app) => {
            app.use(e.text({ type: "*/*" }));
            app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
          }),
      },
      {
        name: 'after express.raw({ type: "*/*" })',
        mount: (receiver) =>
          serve((app) => {
            app.use(e.raw({ type: "*/*" }));
            app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
          }),
      },
      {
        name: 'behind a route-level express.raw({ type: "application/json" }), with express.json() after',
        mount: (receiver) =>
          serve((app) => {
            app.post(WEBHOOK_PATH, e.raw({ type: "application/json" }), clerkSyncMiddleware(receiver));
            app.use(e.json());
          }),
      },
      {
        name: "after express.urlencoded() (which skips JSON and leaves the stream unread)",
        mount: (receiver) =>
          serve((app) => {
            app.use(e.urlencoded({ extended: false }));
            app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
          }),
      },
    ],
  });
}
