// Drives Dramatis's /emotion/v1 with molroo's published SDK (@molroo-io/sdk 0.7.2), the way an integrator
// would: `new Molroo({ baseUrl, apiKey })` and nothing else. Runs every scenario, prints one JSON object
// {scenario: {ok, ...figures}} on stdout; tests/test_live_molroo_sdk.py starts the server and checks it.
//
//   MOLROO_BASE_URL=http://127.0.0.1:8000/emotion/v1 MOLROO_API_KEY=... MOLROO_OTHER_API_KEY=... node scenarios.js
"use strict";

const { Molroo } = require("@molroo-io/sdk");

const baseUrl = process.env.MOLROO_BASE_URL;
const molroo = new Molroo({ baseUrl, apiKey: process.env.MOLROO_API_KEY });
const stranger = new Molroo({ baseUrl, apiKey: process.env.MOLROO_OTHER_API_KEY });
const impostor = new Molroo({ baseUrl, apiKey: "drm_not_a_key" });

const PRAISE = {
  goal_relevance: 0.8, goal_congruence: 0.9, expectedness: 0.5, controllability: 0.6, agency: -0.5,
  norm_compatibility: 0.8, internal_standards: 0.5, adjustment_potential: 0.6, urgency: 0.3,
};
const INSULT = { ...PRAISE, goal_congruence: -0.9, norm_compatibility: -0.9, internal_standards: -0.5 };
const CONFIG = {
  personality: { O: 0.7, C: 0.6, E: 0.8, A: 0.7, N: 0.3, H: 0.8 },
  identity: { name: "Sera", role: "barista", speakingStyle: "warm and brief", coreValues: ["kindness"] },
  goals: [{ id: "g1", content: "keep regulars happy", priority: 0.9, mutable: true, status: "active" }],
};

const results = {};

async function scenario(name, run) {
  try {
    results[name] = { ok: true, ...(await run()) };
  } catch (error) {
    results[name] = { ok: false, error: String(error && error.stack), code: error.code, status: error.status };
  }
}

async function failure(call) {
  try {
    await call();
  } catch (error) {
    return { code: error.code, status: error.status, message: error.message };
  }
  return { code: null, status: null };
}

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

async function personas() {
  let persona;
  await scenario("persona_lifecycle", async () => {
    persona = await molroo.createPersona(CONFIG);
    check(persona.id, "created persona has an id");
    const again = await molroo.connectPersona(persona.id);
    const listed = await molroo.listPersonas();
    await persona.patch({ identity: { ...CONFIG.identity, role: "owner" } });
    const afterPatch = (await molroo.listPersonas()).personas.find((p) => p.id === persona.id);
    return {
      id: persona.id,
      connected: again.id,
      listed: listed.personas.map((p) => p.id),
      role: afterPatch.config.identity.role,
    };
  });
  if (!persona) return;

  await scenario("perceive", async () => {
    const baseline = (await persona.getState()).emotion.V;
    const praised = await persona.perceive("Your latte art is wonderful", { from: "Mina", appraisal: PRAISE });
    const insulted = await persona.perceive("This coffee is terrible", { from: "Mina", appraisal: INSULT });
    const lexicon = await persona.perceive("Thank you so much, you are amazing!", { from: "Joon" });
    return {
      baseline,
      praised: praised.emotion.vad.V,
      insulted: insulted.emotion.vad.V,
      discrete: praised.emotion.discrete.primary,
      episode: praised.memoryEpisode,
      social: insulted.socialUpdates,
      lexiconSource: lexicon.appraisalSource,
    };
  });

  await scenario("perceive_extras", async () => {
    // what the SDK sends beside the appraisal (priorEpisodes, stimulus) and what it reads back (goalChanges)
    const recalled = await molroo.createPersona(CONFIG);
    const fresh = await molroo.createPersona(CONFIG);
    const episode = {
      id: "ep1", sourceEntity: "Mina", appraisal: PRAISE, importance: 0.9, timestamp: Date.now(),
      emotionSnapshot: { V: 0.5, A: 0.4, D: 0.1 },
    };
    const first = await fresh.perceive("Your latte art is wonderful", { from: "Mina", appraisal: PRAISE });
    const familiar = await recalled.perceive("Your latte art is wonderful", {
      from: "Mina", appraisal: PRAISE, priorEpisodes: [episode, episode, episode],
    });
    const stimulated = await fresh.perceive("", { from: "Joon", stimulus: { description: "You are amazing!", intensity: 1 } });
    const moving = { ...PRAISE, goal_relevance: 1 };
    const goal = await recalled.perceive("Your regulars are so happy", { from: "Jun", appraisal: moving });
    return {
      firstV: first.emotion.vad.V,
      familiarV: familiar.emotion.vad.V,
      recurrence: familiar.recurrence,
      stimulatedSource: stimulated.appraisalSource,
      stimulatedCongruence: stimulated.appraisal.goal_congruence,
      goalChanges: goal.goalChanges,
      reflectionPrompt: goal.reflectionPrompt,
    };
  });

  await scenario("memory_search", async () => {
    const episodes = await persona.searchMemory("latte art", { topK: 3 });
    return { contents: episodes.map((e) => e.content) };
  });

  await scenario("tick", async () => {
    await persona.setEmotion({ V: -0.7, A: 0.8 });
    const before = await persona.getState();
    const ticked = await persona.tick(3600);
    const after = await persona.getState();
    return { before: before.emotion, after: after.emotion, pendingEvents: ticked.pendingEvents, state: after };
  });

  await scenario("snapshot", async () => {
    const snapshot = await persona.getSnapshot();
    await persona.perceive("You are the worst", { from: "Mina", appraisal: INSULT });
    const changed = await persona.getSnapshot();
    await persona.putSnapshot(snapshot);
    const restored = await persona.getSnapshot();
    return {
      changed: JSON.stringify(changed) !== JSON.stringify(snapshot),
      restored: JSON.stringify(restored) === JSON.stringify(snapshot),
    };
  });

  await scenario("prompt_context", async () => {
    const context = await persona.getPromptContext("Answer in one sentence.", "Mina");
    return { systemPrompt: context.systemPrompt };
  });

  await scenario("persona_errors", async () => {
    const badKey = await failure(() => impostor.listPersonas());
    const otherTenant = await failure(() => stranger.connectPersona(persona.id));
    const badAppraisal = await failure(() =>
      persona.perceive("hi", { appraisal: { ...PRAISE, goal_congruence: 3 } }),
    );
    const victim = await molroo.createPersona(CONFIG);
    await victim.destroy();
    const deleted = await failure(() => victim.perceive("hi", { appraisal: PRAISE }));
    await victim.restore();
    const restored = await victim.perceive("hi again", { appraisal: PRAISE });
    return { badKey, otherTenant, badAppraisal, deleted, restoredV: restored.emotion.vad.V };
  });
}

async function worlds() {
  let world;
  let sera;
  let mina;
  await scenario("world_setup", async () => {
    world = await molroo.createWorld({ name: "Cafe", description: "by the river", responseRule: "all" });
    await world.update({ description: "a small cafe by the river" });
    const fetched = await molroo.getWorld(world.id);
    const listed = await molroo.listWorlds({ limit: 10 });
    const persona = await molroo.createPersona(CONFIG);
    sera = await world.addPersona({ personaId: persona.id, displayName: "Sera" });
    mina = await world.addPersona({
      configId: "mina-v1",
      displayName: "Mina",
      config: { ...CONFIG, identity: { name: "Mina", role: "regular" } },
    });
    const members = await world.listPersonas();
    const detail = await world.getPersona(mina.id);
    return {
      description: fetched.description,
      listed: listed.worlds.map((w) => w.id).includes(world.id),
      members: members.map((m) => m.display_name),
      minaName: detail.config.identity.name,
    };
  });
  if (!world || !sera || !mina) return;

  await scenario("world_actions_relationships", async () => {
    const action = await world.createAction({
      name: "serve_latte",
      description: "Serve a perfect latte",
      appraisalVector: {
        goalRelevance: 0.7, goalCongruence: 0.9, expectedness: 0.4, controllability: 0.5, agency: -0.7,
        normCompatibility: 0.8, internalStandards: 0.4, adjustmentPotential: 0.6, urgency: 0.2,
      },
    });
    const actions = await world.listActions();
    await world.setRelationship({
      source: { type: "persona", id: mina.id },
      target: { type: "persona", id: sera.id },
      relationshipType: "friend",
      description: "comes every morning",
      strength: 0.8,
      trust: 0.9,
    });
    const relationships = await world.listRelationships();
    return {
      actionId: action.id,
      custom: actions.filter((a) => !a.isDefault).map((a) => a.name),
      defaults: actions.filter((a) => a.isDefault).length,
      relationships: relationships.map((r) => [r.source_id, r.target_id, r.relationship_type, r.trust]),
    };
  });

  await scenario("world_interact", async () => {
    const minaHandle = world.persona(mina.id);
    const before = await minaHandle.getState();
    const served = await world.interact({ target: mina.id, action: "serve_latte", actor: sera.id, actorType: "persona" });
    const insulted = await world.interact({ target: sera.id, action: "insult", actor: "yongjun" });
    const described = await minaHandle.interact("", { stimulusDescription: "Thank you so much!", actor: "yongjun" });
    const after = await minaHandle.getState();
    const context = await world.persona(sera.id).getPromptContext("yongjun");
    const ticked = await world.persona(sera.id).tick(3600);
    const page1 = await world.getEvents({ limit: 3 });
    const page2 = await world.getEvents({ limit: 10, cursor: page1.nextCursor });
    const unknown = await failure(() => world.interact({ target: mina.id, action: "teleport" }));
    return {
      before: before.emotion.vad.V,
      served: served.emotion.vad.V,
      servedDelta: served.emotion.delta.V,
      insultedDelta: insulted.emotion.delta.V,
      witnesses: insulted.reactions.map((r) => r.persona),
      described: described.emotion.vad.V,
      after: after.emotion.vad.V,
      prompt: context.systemPrompt,
      pendingEvents: ticked.pendingEvents,
      events: [...page1.events, ...page2.events].map((e) => e.type),
      nextCursor: page2.nextCursor,
      unknown,
    };
  });

  await scenario("world_errors_and_cleanup", async () => {
    const otherWorld = await failure(() => stranger.getWorld(world.id));
    const outsider = await stranger.createPersona(CONFIG);
    const foreignMember = await failure(() => world.addPersona({ personaId: outsider.id }));
    await world.removePersona(mina.id);
    const remaining = await world.listPersonas();
    await world.delete();
    const gone = await failure(() => molroo.getWorld(world.id));
    return { otherWorld, foreignMember, remaining: remaining.length, gone };
  });
}

async function main() {
  await personas();
  await worlds();
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack));
  process.exit(1);
});
