/**
 * Express 4, installed as the npm alias `express4` (devDependency) so that the adapter suite runs
 * against both majors the peer range names. It ships no types of its own: the tests use the part
 * of the API the two majors share (app.all/post/use/listen, express.json/raw/text/urlencoded),
 * typed here with Express 5's declarations.
 */
declare module "express4" {
  import express from "express";
  export default express;
}
