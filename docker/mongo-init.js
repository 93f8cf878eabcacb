// Runs once, when the mongo service initialises an empty data volume (as root): creates the
// application user that hpsearch's services connect as, with readWrite on the hpsearch
// database only. The root account stays for administration and is used by nothing else.
const user = process.env.HPSEARCH_DB_USER;
const password = process.env.HPSEARCH_DB_PASSWORD;
if (!user || !password) {
  throw new Error("set HPSEARCH_DB_USER and HPSEARCH_DB_PASSWORD in .env");
}
db.getSiblingDB("hpsearch").createUser({
  user: user,
  pwd: password,
  roles: [{ role: "readWrite", db: "hpsearch" }],
});
