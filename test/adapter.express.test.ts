import express from "express";
import { clerkSyncMiddleware } from "../src/adapters/express.js";
import { describeAdapterConformance, WEBHOOK_PATH } from "./conformance/adapter-suite.js";
import { serveExpress } from "./helpers/http-servers.js";

describeAdapterConformance({
  name: "express",
  // app.all: every method reaches the adapter (with app.post, Express itself answers 404 to a GET).
  mount: (receiver) => serveExpress((app) => app.all(WEBHOOK_PATH, clerkSyncMiddleware(receiver))),
  variants: [
    {
      name: "with app.post, before express.json() (as in the docs)",
      mount: (receiver) =>
        serveExpress((app) => {
          app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
          app.use(express.json());
        }),
    },
    {
      name: "after express.json()",
      refuses: "body_already_parsed",
      mount: (receiver) =>
        serveExpress((app) => {
          app.use(express.json());
          app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
        }),
    },
    {
      name: 'after express.text({ type: "*/*" })',
      refuses: "body_already_parsed",
      mount: (receiver) =>
        serveExpress((app) => {
          app.use(express.text({ type: "*/*" }));
          app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
        }),
    },
    {
      name: 'after express.raw({ type: "*/*" })',
      mount: (receiver) =>
        serveExpress((app) => {
          app.use(express.raw({ type: "*/*" }));
          app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
        }),
    },
    {
      name: 'behind a route-level express.raw({ type: "application/json" }), with express.json() after',
      mount: (receiver) =>
        serveExpress((app) => {
          app.post(WEBHOOK_PATH, express.raw({ type: "application/json" }), clerkSyncMiddleware(receiver));
          app.use(express.json());
        }),
    },
    {
      name: "after express.urlencoded() (which skips JSON and leaves the stream unread)",
      mount: (receiver) =>
        serveExpress((app) => {
          app.use(express.urlencoded({ extended: false }));
          app.post(WEBHOOK_PATH, clerkSyncMiddleware(receiver));
        }),
    },
  ],
});
