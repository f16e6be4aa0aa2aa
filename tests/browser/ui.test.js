// The official @elizaos/client 1.7.2 web UI in headless Chromium against eliza-server with a fake
// OpenAI model (API spec §4, §5): a user creates an agent, starts it, chats with it, uploads an
// image and reads the logs, all through the UI; then edits the agent, looks at its memories, model
// calls and runs, deletes a message, clears the chat, chats in a group, sets an env variable, stops
// and deletes the agent. Screenshots go to target/browser-screenshots/.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before } from "node:test";
import { FAKE_REPLY, startFakeOpenAi } from "../node-support/fake-openai.js";
import { startServer } from "../node-support/server.js";
import { ACTION_TIMEOUT_MS, openBrowser } from "./lib/browser.js";
import { Journey } from "./lib/journey.js";
import { gradientPng } from "../node-support/png.js";
import { TARGET_DIR, privateBinary, uiDist } from "./lib/setup.js";

const AGENT_NAME = "Browser Test Agent";
const AGENT_SYSTEM = "You are a test agent. Answer briefly.";
const USER_TEXT = "Hello agent, this is the browser test.";
const IMAGE_NAME = "gradient.png";
const IMAGE_TEXT = "Here is a picture.";
const EDITED_SYSTEM = "You are an edited test agent. Answer briefly.";
const GROUP_NAME = "Browser Test Group";
const GROUP_TEXT = "Hello group, this is the browser test.";
const ENV_NAME = "BROWSER_TEST_SETTING";
/** Waiting for the agent: a model round trip through the whole pipeline on a busy machine. */
const REPLY_TIMEOUT_MS = 30_000;
/** Fetching the UI on the first run, starting the server and the browser. */
const SETUP_TIMEOUT_MS = 200_000;

let fake;
let server;
let browser;
const journey = new Journey({
  screenshotDir: path.join(TARGET_DIR, "browser-screenshots"),
  session: () => browser,
  serverOutput: () => server?.output() ?? "",
});

before(
  async () => {
    await journey.prepare();
    const bin = await privateBinary();
    const ui = await uiDist(bin);
    fake = await startFakeOpenAi({ reply: FAKE_REPLY });
    server = await startServer({ bin, env: fake.env, args: ["--ui-dir", ui] });
    browser = await openBrowser(server.url);
    // The first-visit guided tour covers the page and is pure client state: mark it as seen.
    await browser.context.addInitScript(() => localStorage.setItem("eliza-onboarding-completed", "true"));
  },
  { timeout: SETUP_TIMEOUT_MS },
);

after(async () => {
  if (browser) journey.printObservations(browser.diagnostics);
  await browser?.close();
  await server?.stop();
  await fake?.stop();
});

// ---- what the steps look at -------------------------------------------------------------------

/** The agent's card on the home page. */
const agentCard = (page) => page.getByTestId("agent-card").filter({ hasText: AGENT_NAME });
/** The list of chat bubbles. */
const messageList = (page) => page.getByTestId("chat-messages");
const chatInput = (page) => page.getByTestId("chat-input");
const sidebar = (page) => page.getByTestId("app-sidebar");
/** Icon-only buttons carry no accessible name in this UI; their lucide icon class is the handle. */
const iconButton = (scope, icon) => scope.locator(`button:has(svg.lucide-${icon})`);
/** A toast, by the text of its title or description. */
const toast = (page, text) =>
  page.getByRole("region", { name: /Notifications/ }).getByRole("listitem").filter({ hasText: text });

async function visible(locator, timeout = ACTION_TIMEOUT_MS) {
  await locator.first().waitFor({ state: "visible", timeout });
}

/** Waits until `text` shows in the message list. */
async function seeMessage(page, text, timeout = ACTION_TIMEOUT_MS) {
  await visible(messageList(page).getByText(text, { exact: false }), timeout);
}

/** Asserts that `text` shows in exactly one bubble. */
async function seeOnce(page, text) {
  await seeMessage(page, text);
  assert.equal(await messageList(page).getByText(text).count(), 1, `bubbles with "${text}"`);
}

/** `locator` once it is enabled (the chat input is disabled while the agent is thinking). */
const enabled = (locator) => locator.and(locator.page().locator(":enabled"));

/** Types `text` in the chat input and sends it with Enter, as a user would. */
async function sendChat(page, text) {
  const input = enabled(chatInput(page));
  await visible(input);
  await input.fill(text);
  await input.press("Enter");
}

/** Flips the agent's switch on its home card and waits until it shows the status the server reports. */
async function toggleAgent(page, { to }) {
  await agentCard(page).getByRole("switch").click();
  await visible(agentCard(page).locator(`[role=switch][aria-checked=${to}]`), REPLY_TIMEOUT_MS);
}

/** Goes home through the sidebar logo, as a user would. */
async function goHome(page) {
  await sidebar(page).getByRole("link", { name: /elizaos-logo/ }).click();
  await page.waitForURL(`${server.url}/`);
}

/** Opens the DM chat with the agent through its sidebar entry. */
async function openAgentChat(page) {
  await sidebar(page).getByRole("link", { name: AGENT_NAME }).click();
  await page.waitForURL("**/chat/**");
  await visible(chatInput(page));
}

/** Opens the chat's side panel (if closed) on the tab named `tab`. */
async function openSidePanelTab(page, tab) {
  const panelToggle = iconButton(page, "panel-right").first();
  if (await panelToggle.isVisible()) await panelToggle.click();
  await page.getByRole("tab", { name: tab }).click();
}

/**
 * Closes the chat's side panel if it is open: at this width it floats over the messages. The
 * panel's own close button is the last one (the chat header's is under the panel).
 */
async function closeSidePanel(page) {
  const close = iconButton(page, "panel-right-close");
  if ((await close.count()) === 0) return;
  await close.last().click();
  await close.first().waitFor({ state: "detached" });
}

/** Confirms the open confirmation dialog with its `action` button. */
async function confirmDialog(page, action) {
  const dialog = page.getByRole("alertdialog");
  await visible(dialog);
  await dialog.getByRole("button", { name: action }).click();
  await dialog.waitFor({ state: "hidden" });
}

/** Fails if `locator` matches anything now: call it once the page shows what it fetched. */
async function assertAbsent(locator) {
  const count = await locator.count();
  assert.equal(count, 0, `unexpected: ${locator}`);
}

// ---- the journey ------------------------------------------------------------------------------

journey.step("open home", async (page) => {
  await page.goto(`${server.url}/`);
  await visible(page.getByRole("button", { name: "Create New Agent" }));
  await visible(page.getByText("No agents currently running"));
});

journey.step("create agent", async (page) => {
  await page.getByRole("button", { name: "Create New Agent" }).click();
  await page.waitForURL("**/create");
  await page.getByLabel(/^Name/).fill(AGENT_NAME);
  await page.getByLabel(/^System/).fill(AGENT_SYSTEM);
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(`${server.url}/`);
  await visible(agentCard(page));
});

journey.step("start agent", async (page) => {
  await toggleAgent(page, { to: true });
});

journey.step("open chat", async (page) => {
  await agentCard(page).click();
  await page.waitForURL("**/chat/**");
  await visible(enabled(chatInput(page)));
});

journey.step("send message", async (page) => {
  await sendChat(page, USER_TEXT);
  await seeMessage(page, USER_TEXT);
});

journey.step("see reply", async (page) => {
  await seeMessage(page, FAKE_REPLY, REPLY_TIMEOUT_MS);
  // The UI unlocks its input on the agent's final broadcast; the streamed bubble merged into it.
  await visible(enabled(chatInput(page)));
  await seeOnce(page, FAKE_REPLY);
});

journey.step("reload shows history", async (page) => {
  await page.reload();
  await seeOnce(page, USER_TEXT);
  await seeOnce(page, FAKE_REPLY);
});

journey.step("upload image", async (page) => {
  const fileInput = page.getByTestId("chat-container").locator('input[type="file"]');
  await fileInput.setInputFiles({ name: IMAGE_NAME, mimeType: "image/png", buffer: gradientPng() });
  await visible(page.getByRole("img", { name: "Selected file" }));
  await sendChat(page, IMAGE_TEXT);
  await seeMessage(page, IMAGE_TEXT);
  // The bubble ends up showing the file as the server stored and serves it, not the local blob.
  const served = messageList(page).locator(`img[alt="${IMAGE_NAME}"]:not([src^="blob:"])`);
  await visible(served);
  assert.match(await served.first().getAttribute("src"), /\/media\//);
  await page.waitForFunction(
    (alt) => [...document.querySelectorAll(`img[alt="${alt}"]`)].some((img) => img.complete && img.naturalWidth > 0),
    IMAGE_NAME,
    { timeout: ACTION_TIMEOUT_MS },
  );
});

journey.step("open logs", async (page) => {
  await page.getByRole("link", { name: "Logs" }).click();
  await page.waitForURL("**/logs");
  await visible(page.getByRole("heading", { name: "System Logs" }));
  // The log table, filled from GET /api/server/logs.
  await visible(page.getByText("Timestamp", { exact: true }));
});

// ---- more of what the UI does -----------------------------------------------------------------

journey.step("edit agent settings", async (page) => {
  await goHome(page);
  await iconButton(agentCard(page), "settings").click();
  await page.waitForURL("**/settings/**");
  await page.getByLabel(/^System/).fill(EDITED_SYSTEM);
  await page.getByRole("button", { name: "Save" }).click();
  await visible(toast(page, "Agent updated successfully"));
  // The change is stored: a fresh load of the form shows it.
  await page.reload();
  await page.getByLabel(/^System/).waitFor();
  assert.equal(await page.getByLabel(/^System/).inputValue(), EDITED_SYSTEM);
});

journey.step("memory viewer", async (page) => {
  await openAgentChat(page);
  await openSidePanelTab(page, "Memories");
  const panel = page.getByRole("tabpanel");
  await visible(panel.getByText(USER_TEXT));
  await visible(panel.getByText(FAKE_REPLY));
});

journey.step("model calls view", async (page) => {
  await openSidePanelTab(page, "Model Calls");
  // The model calls the reply took, from GET /api/agents/:id/logs; the details show the answer.
  const call = page.getByRole("tabpanel").locator("div.rounded-lg").filter({ hasText: "TEXT_LARGE" }).first();
  await visible(call);
  await call.getByRole("button", { name: "View details" }).click();
  await visible(call.getByText(FAKE_REPLY));
});

journey.step("runs timeline", async (page) => {
  await openSidePanelTab(page, "Timeline");
  // A run per handled message, from GET /api/agents/:id/runs and /runs/:runId, with its spans.
  const panel = page.getByRole("tabpanel");
  await visible(panel.getByText(/^Run [0-9a-f]{8}$/));
  await visible(panel.getByText("TEXT_LARGE", { exact: true }));
});

journey.step("delete message", async (page) => {
  await closeSidePanel(page);
  const bubble = messageList(page).locator("div.group").filter({ hasText: IMAGE_TEXT });
  await bubble.hover();
  await iconButton(bubble, "trash2").click();
  await messageList(page).getByText(IMAGE_TEXT).waitFor({ state: "detached" });
  // Deleted on the server too: gone after a reload, the other messages still there.
  await page.reload();
  await seeMessage(page, USER_TEXT);
  await assertAbsent(messageList(page).getByText(IMAGE_TEXT));
});

journey.step("clear chat", async (page) => {
  // The arrow of the New Chat split button opens Clear Chat / Delete Chat.
  await page.getByRole("button", { name: "More options" }).click();
  await page.getByRole("menuitem", { name: "Clear Chat" }).click();
  await confirmDialog(page, "Clear");
  await visible(page.getByText("No messages yet. Start the conversation!"));
  await page.reload();
  await visible(page.getByText("No messages yet. Start the conversation!"));
});

journey.step("create group chat", async (page) => {
  await goHome(page);
  await page.getByRole("tab", { name: "Groups" }).click();
  await page.getByRole("button", { name: "Create New Group" }).click();
  await page.waitForURL("**/group/new");
  // The group panel is a plain overlay, without a dialog role.
  const panel = page.locator(".fixed.inset-0").filter({ hasText: "Create Group Chat" });
  await panel.getByLabel("Chat Name (Optional)").fill(GROUP_NAME);
  await panel.getByText("Select agents...").click();
  await panel.getByText(AGENT_NAME).click();
  await panel.getByRole("button", { name: "Create Group" }).click();
  await page.waitForURL(/\/group\/[0-9a-f-]{36}/);
  await visible(page.getByRole("heading", { name: GROUP_NAME }));
  await closeSidePanel(page);
  await sendChat(page, GROUP_TEXT);
  await seeMessage(page, GROUP_TEXT);
  await seeMessage(page, FAKE_REPLY, REPLY_TIMEOUT_MS);
});

journey.step("env settings", async (page) => {
  await sidebar(page).getByRole("link", { name: "Settings" }).click();
  await page.waitForURL("**/settings");
  await visible(page.getByRole("heading", { name: "Env settings" }));
  await page.getByLabel("NAME").fill(ENV_NAME);
  await page.getByLabel("VALUE").fill("browser-test-value");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByRole("button", { name: "Save Changes" }).click();
  await visible(toast(page, "Environment variables updated successfully"));
  await page.reload();
  await visible(page.getByText(ENV_NAME, { exact: true }));
});

journey.step("stop agent", async (page) => {
  await goHome(page);
  await toggleAgent(page, { to: false });
});

journey.step("delete agent", async (page) => {
  await iconButton(agentCard(page), "settings").click();
  await page.waitForURL("**/settings/**");
  await page.getByRole("button", { name: "More options" }).click();
  await page.getByRole("menuitem", { name: "Delete Agent" }).click();
  await confirmDialog(page, "Delete");
  await page.waitForURL(`${server.url}/`);
  await visible(page.getByText("No agents currently running"));
  await assertAbsent(agentCard(page));
});
