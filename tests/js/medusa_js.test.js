// Medusa's own client, @medusajs/medusa-js 6.1.10, against a real `batchctl serve` and a real worker.
// Run by tests/http/test_medusa_js.py (which starts both, on each backend, and seeds the catalog):
//   BATCHCTL_URL, BATCHCTL_TOKEN (admin), BATCHCTL_OTHER_TOKEN (another user), BATCHCTL_DRAFTS (drafts seeded).
const { test } = require("node:test")
const assert = require("node:assert/strict")
const Medusa = require("@medusajs/medusa-js").default

const BASE_URL = process.env.BATCHCTL_URL
const TOKEN = process.env.BATCHCTL_TOKEN
const DRAFTS = Number(process.env.BATCHCTL_DRAFTS)

// The seeds' example, verbatim but for the URL and token.
const medusa = new Medusa({ baseUrl: BASE_URL, maxRetries: 0, apiKey: TOKEN })

async function retrieveUntil(id, status) {
  const deadline = Date.now() + 60_000
  for (;;) {
    const { batch_job } = await medusa.admin.batchJobs.retrieve(id)
    if (batch_job.status === status) return batch_job
    assert.ok(!["failed", "canceled", "completed"].includes(batch_job.status), `ended ${batch_job.status}`)
    assert.ok(Date.now() < deadline, `still ${batch_job.status} waiting for ${status}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  assert.fail("the request should have been refused")
}

test("the seeds' flow: dry run, pre_processed with the drafts counted, confirm, completed", async () => {
  const { batch_job } = await medusa.admin.batchJobs.create({ type: "publish-products", context: {}, dry_run: true })
  assert.equal(batch_job.type, "publish-products")
  assert.equal(batch_job.dry_run, true)
  assert.match(batch_job.id, /^batch_/)

  const preProcessed = await retrieveUntil(batch_job.id, "pre_processed")
  assert.equal(preProcessed.result.count, DRAFTS)
  const [stat] = preProcessed.result.stat_descriptors
  assert.equal(stat.key, "products-to-publish")
  assert.match(stat.message, new RegExp(`^${DRAFTS} draft products`))

  const { batch_job: confirmed } = await medusa.admin.batchJobs.confirm(batch_job.id)
  assert.ok(confirmed.confirmed_at)

  const completed = await retrieveUntil(batch_job.id, "completed")
  assert.equal(completed.result.advancement_count, DRAFTS)
  assert.equal(completed.result.progress, 1)
  assert.ok(completed.completed_at)
})

test("cancel, then list with filters", async () => {
  const { batch_job } = await medusa.admin.batchJobs.create({ type: "product-export", context: {}, dry_run: true })
  const { batch_job: canceled } = await medusa.admin.batchJobs.cancel(batch_job.id)
  assert.equal(canceled.status, "canceled")
  assert.ok(canceled.canceled_at)

  const { batch_jobs, count, limit, offset } = await medusa.admin.batchJobs.list({
    type: ["product-export"],
    completed_at: null,
    limit: 5,
    offset: 0,
  })
  assert.deepEqual([limit, offset], [5, 0])
  assert.ok(batch_jobs.some((job) => job.id === batch_job.id))
  assert.ok(batch_jobs.every((job) => job.type === "product-export" && job.completed_at === null))
  assert.equal(count, batch_jobs.length)

  const published = await medusa.admin.batchJobs.list({ type: ["publish-products"], created_at: { gte: "2000-01-01T00:00:00Z" } })
  assert.ok(published.batch_jobs.length >= 1)
  assert.ok(published.batch_jobs.every((job) => job.type === "publish-products"))
})

test("errors reject with Medusa's status and body", async () => {
  let err = await rejection(medusa.admin.batchJobs.retrieve("batch_00000000000000000000000000"))
  assert.equal(err.response.status, 404)
  assert.equal(err.response.data.type, "not_found")
  assert.equal(err.response.data.message, "Batch job with id batch_00000000000000000000000000 was not found")

  err = await rejection(medusa.admin.batchJobs.create({ type: "no-such-type", context: {} }))
  assert.equal(err.response.status, 404)
  assert.match(err.response.data.message, /^Unable to find a BatchJob strategy with the type no-such-type/)

  err = await rejection(medusa.admin.batchJobs.create({ type: "publish-products", context: {}, dry_run: "true" }))
  assert.equal(err.response.status, 400)
  assert.deepEqual(err.response.data, { type: "invalid_data", message: "dry_run must be a boolean value" })

  const { batch_job } = await medusa.admin.batchJobs.create({ type: "product-export", context: {}, dry_run: true })
  await medusa.admin.batchJobs.cancel(batch_job.id) // so that the worker cannot pre-process it first
  err = await rejection(medusa.admin.batchJobs.confirm(batch_job.id))
  assert.equal(err.response.status, 400)
  assert.deepEqual(err.response.data, {
    type: "not_allowed",
    message: "Cannot confirm processing for a batch job that is not pre processed",
  })

  const other = new Medusa({ baseUrl: BASE_URL, maxRetries: 0, apiKey: process.env.BATCHCTL_OTHER_TOKEN })
  err = await rejection(other.admin.batchJobs.cancel(batch_job.id))
  assert.equal(err.response.status, 400)
  assert.deepEqual(err.response.data, {
    type: "not_allowed",
    message: "Cannot access a batch job that does not belong to the logged in user",
  })

  const stranger = new Medusa({ baseUrl: BASE_URL, maxRetries: 0, apiKey: "bct_not-a-token" })
  err = await rejection(stranger.admin.batchJobs.list())
  assert.equal(err.response.status, 401)
  assert.equal(err.response.data, "Unauthorized")
})

test("with retries on, every POST carries an Idempotency-Key and still creates one job", async () => {
  const retrying = new Medusa({ baseUrl: BASE_URL, maxRetries: 2, apiKey: TOKEN })
  const before = (await medusa.admin.batchJobs.list({ type: ["noop"] })).count
  const { batch_job } = await retrying.admin.batchJobs.create({ type: "noop", context: { count: 3 } })
  assert.equal(batch_job.type, "noop")
  const after = (await medusa.admin.batchJobs.list({ type: ["noop"] })).count
  assert.equal(after, before + 1)
})

test("a JWT from /admin/auth/token works as Authorization: Bearer", async () => {
  const email = process.env.BATCHCTL_EMAIL
  const password = process.env.BATCHCTL_PASSWORD
  const signedIn = new Medusa({ baseUrl: BASE_URL, maxRetries: 0 })
  const { access_token } = await signedIn.admin.auth.getToken({ email, password })
  assert.equal(access_token.split(".").length, 3)
  const { batch_jobs } = await signedIn.admin.batchJobs.list(
    { limit: 1 },
    { Authorization: `Bearer ${access_token}` },
  )
  assert.equal(batch_jobs.length, 1)
})
