/**
 * The persona policy (issue 14, the seed's adaptation engine): each control interval, for each running
 * application with a persona, diff the persona's desired config against what is in place (virtual links, routes,
 * QoS classes, firewall rules: models/policies/persona-config.ts), apply the diff through a journal
 * (models/policies/journal.ts), measure the application over the next intervals and roll the journal back when it
 * got worse than before.
 *
 * One trial at a time: an application's changes are applied at a journal mark, then measured for `measureIntervals`
 * intervals while no other application changes anything, so rolling back to the mark undoes exactly that
 * application's changes. Applications take turns in the order of `personas`; an application is running when its
 * flows completed or were refused in each of the last `baselineIntervals` intervals, and a trial starts only with
 * that many intervals of history since the previous trial ended (its baseline). A kept application is diffed again
 * every turn (new pairs, moved paths) and any new changes go through a trial of their own; a reverted one is left
 * alone for the rest of the run. An apply whose every call the control plane refused (a resource exhausted) is no
 * trial and no revert: the application keeps its status and is diffed again `baselineIntervals` intervals later.
 *
 * The application's metric (from the Observation's `applicationFlows`, over its application pairs `"A->*"` and
 * `"*->A"`): for latency-first personas the mean over intervals of the largest p99 FCT of its pairs; for
 * bandwidth-first ones the mean FCT of its completed flows (throughput falls as it rises); and the share of its
 * flows the firewall refused. The trial got worse when the refused share rose by more than 1 point, when nothing
 * completed where flows completed before, or when the FCT metric exceeds the baseline by more than `threshold`
 * (0.2: 20 %) and the rise is beyond noise: the one-sided Mann-Whitney U test (persona-stats.ts) of the trial's
 * per-flow FCTs against the baseline intervals' gives p < `significance` (0.05; where the engine reports no per-flow
 * FCTs, the threshold alone). A rise of refusals reverts at once, after the first measured interval in which the
 * application's flows ended (that is when a wrong persona's effect is measurable: its refused flows are counted
 * there); the rest is judged after `measureIntervals` measured intervals once they hold `minFlows` (30) completed
 * flows, the measurement extended for them up to `maxMeasureIntervals` (4) (personas-emulate-loaded.yaml, emulated:
 * trading's correct persona was reverted on ~40 flows, metric 21.8 -> 26.2 ms). A measured interval in which the application had no flow end (nothing completed or refused:
 * an emulated application stalled behind a busy machine) is passed over, up to `measureIntervals` of them.
 *
 * Refinement (`refine`, off by default; models/policies/persona-refine.ts): the definition's predictor over pair
 * volumes forecasts each pair; an application's demand on a pair is the pair's forecast times its share of the
 * pair's bytes, and its diff then sizes guaranteed rates by demand x `headroom` and gives the VNAs to its pairs with
 * the most demand (persona-config.ts). Between trials, once every running application's persona has had its first
 * trial (the shaping waits for them: {@link PersonaPolicy.firstTrialDue}), turns alternate between the personas and
 * the shaping: when a latency-first application's link is predicted hot, the lower pairs on it get a ceiling at the
 * lowest priority as a trial of its own, measured on that application and rolled back through the same journal when
 * it did not get better by `refine.shapeGain` (its cost, the bulk held back, is certain); shaped pairs are unshaped
 * (class removed) when their links cool.
 *
 * Failover (`onLinkDown`): virtual links and routes over a failed link move at once to a path over the links still up
 * (across substrates when a gateway failed), outside the trials; so does each moved pair's return direction while its
 * default route crosses the failed cable (responses and TCP's ACKs take it).
 *
 * Every apply, keep, revert and failover is an event in {@link PersonaPolicy.events} (time, application, changes, metric
 * before and after, reason); the changes and their undo calls are actions like any other (the recording decorator
 * records them, actions.csv).
 */
import * as z from "zod";
import { type Persona, PersonaSchema } from "../personas/profile.ts";
import type { Predictor } from "../predictors/predictor.ts";
import { leastLoadedPath, linksByEnds, pathLinkKeys } from "./common.ts";
import { COMMON_PARAMS, DEFAULT_K_PATHS, definePolicy, paramDefaults } from "./definition.ts";
import { type Journaled, journaling } from "./journal.ts";
import {
  ApplicationView,
  applicationEnds,
  type PersonaChange,
  personaDiff,
  QOS_FOREIGN_SHARE,
} from "./persona-config.ts";
import {
  coolestPath,
  DemandForecast,
  REFINE_PARAMS,
  type RefineOptions,
  shapingPlan,
} from "./persona-refine.ts";
import { mannWhitneyGreaterP } from "./persona-stats.ts";
import {
  ControlError,
  type ControlPlane,
  type NodePath,
  NoPathError,
  type Observation,
  type Policy,
  type PolicyEvent,
  pairKey,
} from "./types.ts";
import type { Verbs } from "./verbs.ts";

/** The persona policy's parameters, declared once (config `params`, defaults of {@link PersonaPolicyOptions}). */
export const PERSONA_PARAMS = z.strictObject({
  personas: z
    .array(
      z.union([
        z.string().min(1).meta({ description: "A persona JSON file, relative to the config's directory." }),
        PersonaSchema,
      ]),
    )
    .default([])
    .meta({
      description: "The personas to apply: documents inline or files (experiments/ reads and checks them).",
    }),
  threshold: z
    .number()
    .min(0)
    .default(0.2)
    .meta({ description: "Revert when the application's FCT metric rises by more than this fraction." }),
  baselineIntervals: z.int().min(1).default(3).meta({
    description: "Intervals of history a trial's baseline takes (and an application must have run).",
  }),
  measureIntervals: z
    .int()
    .min(1)
    .default(2)
    .meta({ description: "Intervals a trial is measured before it is kept or reverted." }),
  minFlows: z.int().min(0).default(30).meta({
    description:
      "Completed flows a trial's measurement needs: it is extended past measureIntervals until they have completed, up to maxMeasureIntervals.",
  }),
  maxMeasureIntervals: z.int().min(1).default(4).meta({
    description: "Most intervals a trial is measured while it has fewer than minFlows completed flows.",
  }),
  significance: z.number().gt(0).max(1).default(0.05).meta({
    description:
      "An FCT regression beyond threshold reverts only when the one-sided Mann-Whitney U test of the trial's per-flow FCTs against the baseline's gives p below this (1: the threshold alone).",
  }),
  qosPerApplication: z.boolean().default(true).meta({
    description:
      "QoS classes matched by application (the server ports of its exchanges on each pair: they hold its flows only); false: a class per node pair, holding every flow of the pair.",
  }),
  qosForeignShare: z.number().min(0).default(QOS_FOREIGN_SHARE).meta({
    description:
      "No pair class (one not matched by application) on a pair whose other traffic's mean rate exceeds this share of its path's bottleneck capacity (a pair class holds every flow of its pair).",
  }),
  refine: REFINE_PARAMS.nullable().default(null).meta({
    description:
      "The refinement (models/policies/persona-refine.ts): guaranteed rates and VNAs follow the predictor's forecast demand, and lower classes are shaped when a latency-critical application's link is predicted hot; null: off.",
  }),
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

const DEFAULTS = paramDefaults(PERSONA_PARAMS);

export type PersonaPolicyOptions = Partial<Omit<z.output<typeof PERSONA_PARAMS>, "personas" | "reroute">> & {
  /** The forecasts of the refinement (`refine`): a predictor over pair volumes (definition.ts `pair-volumes`). */
  predictor?: Predictor;
};

/** One interval of an application: completions, refusals, FCTs (ns). */
interface Sample {
  completed: number;
  refused: number;
  /** Largest p99 FCT over its pairs; completion-weighted mean FCT; null when nothing completed. */
  p99FctNs: number | null;
  meanFctNs: number | null;
  /** Every completed flow's FCT (ns), where the engine reports them; null where it does not. */
  fctsNs: number[] | null;
}

/** An application's metric over some intervals (see the module doc). */
export interface PersonaMetric {
  completed: number;
  refused: number;
  /** p99-based (latency-first) or mean-based (bandwidth-first) FCT, ns; null when nothing completed. */
  fctNs: number | null;
}

/** An apply, keep or revert. */
export interface PersonaEvent {
  timeNs: number;
  application: string;
  event: "apply" | "keep" | "revert" | "failover" | "shape" | "unshape";
  /** Changes applied (apply, failover), or undone (revert). */
  changes: number;
  /** Changes the control plane refused (apply, failover), or undo calls it refused (revert). */
  failed?: number;
  before: PersonaMetric;
  after?: PersonaMetric;
  reason?: string;
}

const EMPTY_METRIC: PersonaMetric = Object.freeze({ completed: 0, refused: 0, fctNs: null });

interface Trial {
  /** An application's persona, or the refinement's shaping (measured on the critical application `app`). */
  kind: "persona" | "shape";
  app: string;
  persona: Persona;
  mark: number;
  changes: number;
  baseline: PersonaMetric;
  /** The baseline intervals' per-flow FCTs (ns), null where the engine does not report them. */
  baselineFctsNs: number[] | null;
  samples: Sample[];
  /** The firewall rules it set, as JSON. */
  rules: string[];
  /** Measured intervals passed over: the application had no flow end in them. */
  skipped: number;
  /** The pairs a shaping trial shaped (its rollback unshapes them). */
  shapedPairs?: string[];
}

export class PersonaPolicy implements Policy {
  readonly name = "persona";
  readonly events: PersonaEvent[] = [];
  private readonly view = new ApplicationView();
  private readonly history = new Map<string, Sample[]>();
  private readonly status = new Map<string, "pending" | "kept" | "reverted">();
  private journal: Journaled<Verbs> | null = null;
  private trial: Trial | null = null;
  /** Firewall rules (JSON) this policy set and did not roll back. */
  private readonly rulesSet = new Set<string>();
  private turn = 0;
  /** Applications whose last apply was refused entirely, with when their turn may come again (ns). */
  private readonly retryAfterNs = new Map<string, number>();
  /** The refinement's forecasts (with `refine` and a predictor). */
  private readonly demand: DemandForecast | null;
  /** Pairs the refinement shapes now, with their ceilings (bits/s). */
  private readonly shaped = new Map<string, number>();
  /** Forecast utilization per link key, from the last shaping plan (the refinement's latency paths). */
  private forecastUtilization: ReadonlyMap<string, number> = new Map();
  /** Whether the next decision between trials may start a shaping trial (it alternates with the personas'). */
  private shapeTurn = true;
  /** Critical applications whose shaping trial was reverted: not shaped for again. */
  private readonly shapeRefused = new Set<string>();

  constructor(
    private readonly personas: readonly Persona[],
    private readonly opts: PersonaPolicyOptions = {},
  ) {
    for (const p of personas) this.status.set(p.application.name, "pending");
    this.demand =
      opts.refine && opts.predictor ? new DemandForecast(opts.predictor, opts.refine.lookahead) : null;
  }

  /** The events as the run's records carry them: `persona-apply`, `persona-keep`, `persona-revert` per application. */
  policyEvents(): PolicyEvent[] {
    return this.events.map(({ timeNs, application, event, ...detail }) => ({
      timeNs,
      kind: `persona-${event}`,
      subject: application,
      detail,
    }));
  }

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    this.view.observe(obs);
    this.demand?.observe(obs);
    this.journal ??= journaling(ctl);
    const journal = this.journal;
    const keep = this.opts.baselineIntervals ?? DEFAULTS.baselineIntervals;
    for (const p of this.personas) {
      const app = p.application.name;
      const h = this.history.get(app) ?? [];
      h.push(sampleOf(obs, app));
      if (h.length > keep) h.shift();
      this.history.set(app, h);
    }
    if (this.trial) await this.measure(obs, journal, this.trial);
    else if (this.shapeTurn && !this.firstTrialDue() && (await this.shape(obs, journal)))
      this.shapeTurn = false;
    else {
      // The personas' turns and the shaping alternate: shaping whenever a link is hot would starve the personas.
      if (await this.tryNext(obs, journal)) this.shapeTurn = true;
    }
  }

  /**
   * Failover: the pairs whose virtual link or pinned route crosses the failed link move at once, outside any trial,
   * to their persona's path over the links still up (`ctl.paths`; across substrates when the gateway between them
   * failed): the pair's route is pinned to it (its flows in progress move), then a virtual link is re-created on
   * it (new flows); a pair left without a path loses its link and route (its traffic waits for the default route). A trial
   * in progress is ended first and kept: its measurement is void, and rolling it back later would move pairs back
   * onto the failed link. One `failover` event per application moved (a pair no persona claims counts for `*`).
   */
  async onLinkDown(linkId: string, obs: Observation, ctl: ControlPlane, atNs: number): Promise<void> {
    this.journal ??= journaling(ctl);
    const journal = this.journal;
    const failed = linkId.split("#")[0]!;
    const crosses = (path: readonly string[]) => pathLinkKeys(path).includes(failed);
    const moves: Move[] = [
      ...obs.virtualLinks
        .filter((v) => crosses(v.path))
        .map((v) => ({ src: v.src, dst: v.dst, virtualLink: v.id })),
      ...[...obs.routes]
        .filter(([, path]) => crosses(path))
        .map(([key]) => {
          const [src, dst] = key.split("->") as [string, string];
          return { src, dst };
        }),
    ];
    if (moves.length === 0) return;
    moves.push(...returnMoves(moves, failed, obs, journal));
    if (this.trial) this.endTrial(this.trial, atNs, `ended by the failure of ${linkId}`);
    const links = linksByEnds(obs);
    const byApp = new Map<string, { changes: number; failed: number }>();
    const remake: { m: Move; path: NodePath | undefined; tally: { changes: number; failed: number } }[] = [];
    // Every pair's route first, its return direction's included: the flows already on the old link leave it for the
    // pair's route (in the simulator a virtual link carries the flows that start after it is ready), so they move
    // with it, not stall until the default routes reconverge; then the virtual links are made again on the new paths.
    for (const m of moves) {
      const persona = this.personaOfPair(m.of ?? pairKey(m.src, m.dst));
      const latency = (persona?.desired.routing ?? "latency") === "latency";
      const candidates = await journal.paths(
        m.src,
        m.dst,
        latency ? 1 : (this.opts.kPaths ?? DEFAULT_K_PATHS),
      );
      const path = latency ? candidates[0] : leastLoadedPath(candidates, links);
      const tally = byApp.get(persona?.application.name ?? "*") ?? { changes: 0, failed: 0 };
      byApp.set(persona?.application.name ?? "*", tally);
      try {
        await journal.setRoute({ src: m.src, dst: m.dst }, path ?? null);
        if (m.virtualLink !== undefined) remake.push({ m, path, tally });
        else tally.changes++;
      } catch (e) {
        if (!(e instanceof ControlError)) throw e;
        tally.failed++;
      }
    }
    // The dead virtual links go first and together: a virtual link's steering outranks a pinned route (in the
    // emulator its rule comes before the route's), so until it is removed the pair's packets enter a tunnel over the
    // failed link (measured in the emulator: ~60 ms per removal, one after another, calls in between waiting for
    // TCP's SYN retransmission); then the new ones, together.
    const removed = await Promise.all(
      remake.map(({ m }) =>
        removedNow(journal, m.virtualLink!).then(
          (ok) => ok,
          (e: unknown) => {
            if (!(e instanceof ControlError)) throw e;
            return e;
          },
        ),
      ),
    );
    const made = await Promise.all(
      remake.map(({ m, path }, k) => {
        const r = removed[k]!;
        if (r instanceof ControlError) return r;
        if (!r || !path) return true;
        return attemptCall(() => journal.createVirtualLink(m.src, m.dst, { path }));
      }),
    );
    made.forEach((ok, k) => {
      if (ok === true) remake[k]!.tally.changes++;
      else remake[k]!.tally.failed++;
    });
    for (const [application, t] of byApp) {
      const persona = this.personas.find((p) => p.application.name === application);
      this.events.push({
        timeNs: atNs,
        application,
        event: "failover",
        changes: t.changes,
        failed: t.failed,
        before: persona ? metricOf(this.history.get(application) ?? [], persona) : EMPTY_METRIC,
        reason: `link ${linkId} down`,
      });
    }
  }

  /**
   * The refinement's part of `app`'s diff: its demand per pair (the pair's forecast rate x the application's share
   * of its bytes) and, from the last shaping plan's forecast utilization, its latency paths (`coolestPath`).
   */
  private refinedDiff(app: string, obs: Observation, demand: DemandForecast, refine: RefineOptions) {
    const utilization = this.forecastUtilization;
    return {
      demand: {
        bps: (key: string) => demand.pairBps(key) * this.view.shareOf(app, key),
        headroom: refine.headroom,
      },
      latencyPath: (c: readonly NodePath[]) => coolestPath(c, obs, utilization, refine.maxDetourMs * 1e6),
    };
  }

  /**
   * The refinement's shaping (models/policies/persona-refine.ts), between trials: unshapes the pairs no longer
   * near a hot link at once, then, when a latency-first application's link is predicted hot, shapes the lower pairs
   * on it as a trial measured on that application (the first in `personas` order whose pairs cross a hot link and
   * that has a baseline), reverted through the journal when it got worse. Returns whether a trial started.
   */
  private async shape(obs: Observation, journal: Journaled<Verbs>): Promise<boolean> {
    const refine = this.opts.refine;
    if (!refine || !this.demand) return false;
    const latency = this.personas.filter(
      (p) => p.desired.routing === "latency" && !this.shapeRefused.has(p.application.name),
    );
    const critical = new Set(latency.flatMap((p) => this.view.pairsOf(p.application.name).map(([k]) => k)));
    const criticalApps = latency.map((p) => p.application.name);
    const lower = (key: string) => criticalApps.reduce((a, app) => a + this.view.shareOf(app, key), 0) < 0.5;
    const plan = await shapingPlan(obs, journal, this.demand, critical, lower, this.shaped, refine);
    this.forecastUtilization = plan.utilization;
    if (plan.clear.length > 0) {
      let changes = 0;
      for (const { src, dst } of plan.clear) {
        if (await attemptCall(() => journal.setQos({ src, dst }, null))) changes++;
        this.shaped.delete(pairKey(src, dst));
      }
      this.events.push({
        timeNs: obs.timeNs,
        application: "*",
        event: "unshape",
        changes,
        before: EMPTY_METRIC,
        reason: `${plan.clear.length} pairs off the hot links`,
      });
    }
    if (plan.set.length === 0) return false;
    const hot = new Set(plan.hot);
    const persona = latency.find((p) => {
      const crosses = this.view
        .pairsOf(p.application.name)
        .some(([k]) => (plan.paths.get(k) ?? []).some((l) => hot.has(l)));
      return crosses && this.running(p.application.name);
    });
    if (!persona) return false;
    const app = persona.application.name;
    const baseline = metricOf(this.history.get(app)!, persona);
    const mark = journal.mark();
    const shapedPairs: string[] = [];
    let failed = 0;
    for (const { src, dst, qos } of plan.set) {
      if (await attemptCall(() => journal.setQos({ src, dst }, qos))) {
        this.shaped.set(pairKey(src, dst), qos.ceilBps!);
        shapedPairs.push(pairKey(src, dst));
      } else failed++;
    }
    const changes = journal.entries().length - mark;
    this.events.push({
      timeNs: obs.timeNs,
      application: app,
      event: "shape",
      changes,
      failed,
      before: baseline,
      reason: `hot: ${plan.hot.join(", ")}`,
    });
    if (changes === 0) return false;
    this.trial = {
      kind: "shape",
      app,
      persona,
      mark,
      changes,
      baseline,
      baselineFctsNs: fctsOf(this.history.get(app)!),
      samples: [],
      rules: [],
      skipped: 0,
      shapedPairs,
    };
    return true;
  }

  /**
   * Whether an application ran in each of the last `baselineIntervals` intervals (a flow of it completed or was
   * refused in each): it has a baseline a trial can be measured against.
   */
  private running(app: string): boolean {
    const h = this.history.get(app) ?? [];
    const keep = this.opts.baselineIntervals ?? DEFAULTS.baselineIntervals;
    return h.length >= keep && h.every((s) => s.completed + s.refused > 0);
  }

  /**
   * Whether a running application's persona still waits for its first trial. The shaping refines what the personas
   * put in place and waits until then: its trials would delay the personas' (personas-loaded.yaml: shaping first,
   * trading's persona landed 1.0 s and ledger's 1.5 s later, and the run's p99 FCT of trading rose from 18.2 to
   * 22.5 ms and ledger's from 19.3 to 25.8 ms, while the shaping trials measured no gain).
   */
  private firstTrialDue(): boolean {
    return this.personas.some(
      (p) => this.status.get(p.application.name) === "pending" && this.running(p.application.name),
    );
  }

  /** The node pairs that carried the traffic of a latency-first persona's application other than `app`. */
  private latencyPairs(app: string): Set<string> {
    return new Set(
      this.personas
        .filter((p) => p.desired.routing === "latency" && p.application.name !== app)
        .flatMap((p) => this.view.pairsOf(p.application.name).map(([k]) => k)),
    );
  }

  /** The persona of the first application (in `personas` order) whose traffic used the node pair `key`. */
  private personaOfPair(key: string): Persona | undefined {
    return this.personas.find((p) => this.view.pairsOf(p.application.name).some(([k]) => k === key));
  }

  /** Ends a trial without measuring it further: kept, with `reason`. */
  private endTrial(trial: Trial, atNs: number, reason: string): void {
    this.events.push({
      timeNs: atNs,
      application: trial.app,
      event: "keep",
      changes: trial.changes,
      before: trial.baseline,
      after: metricOf(trial.samples, trial.persona),
      reason,
    });
    this.status.set(trial.app, "kept");
    this.trial = null;
    this.history.clear();
  }

  /**
   * Starts the next application's trial, if one is running and has changes to make. Returns false when it waited:
   * an application not reverted had less than `baselineIntervals` of history.
   */
  private async tryNext(obs: Observation, journal: Journaled<Verbs>): Promise<boolean> {
    const keep = this.opts.baselineIntervals ?? DEFAULTS.baselineIntervals;
    let waited = false;
    for (let i = 0; i < this.personas.length; i++) {
      const persona = this.personas[(this.turn + i) % this.personas.length]!;
      const app = persona.application.name;
      const h = this.history.get(app)!;
      if (this.status.get(app) === "reverted") continue;
      if (obs.timeNs < (this.retryAfterNs.get(app) ?? 0)) continue;
      if (h.length < keep) {
        waited = true;
        continue;
      }
      if (!this.running(app)) continue;
      const kPaths = this.opts.kPaths ?? DEFAULT_K_PATHS;
      const changes = await personaDiff(persona, this.view, obs, journal, kPaths, this.rulesSet, {
        qosForeignShare: this.opts.qosForeignShare ?? DEFAULTS.qosForeignShare,
        qosPerApplication: this.opts.qosPerApplication ?? DEFAULTS.qosPerApplication,
        latencyPairs: this.latencyPairs(app),
        shaped: new Set(this.shaped.keys()),
        ...(this.demand && this.opts.refine ? this.refinedDiff(app, obs, this.demand, this.opts.refine) : {}),
      });
      if (changes.length === 0) {
        this.status.set(app, "kept");
        continue;
      }
      this.turn = (this.turn + i + 1) % this.personas.length;
      const baseline = metricOf(h, persona);
      const mark = journal.mark();
      const failed = await applyChanges(journal, changes);
      const applied = journal.entries().length - mark;
      const rules = journal
        .entries()
        .slice(mark)
        .flatMap((e) => (e.verb === "setFirewall" ? [JSON.stringify(e.args[0])] : []));
      for (const r of rules) this.rulesSet.add(r);
      this.events.push({
        timeNs: obs.timeNs,
        application: app,
        event: "apply",
        changes: applied,
        failed,
        before: baseline,
      });
      if (applied > 0)
        this.trial = {
          kind: "persona",
          app,
          persona,
          mark,
          changes: applied,
          baseline,
          baselineFctsNs: fctsOf(h),
          samples: [],
          rules,
          skipped: 0,
        };
      else {
        // Every call refused (a resource exhausted, e.g. VNAs): nothing was applied, so nothing was measured or
        // reverted; the application keeps its status and its turn comes again after a baseline's intervals.
        this.events.at(-1)!.reason = "every change refused: retried later";
        this.retryAfterNs.set(app, obs.timeNs + keep * obs.intervalNs);
      }
      return true;
    }
    return !waited;
  }

  /**
   * Whether the trial has been measured enough to judge its FCTs: `measureIntervals` measured intervals holding at
   * least `minFlows` completed flows, or `maxMeasureIntervals` of them whatever they hold.
   */
  private measured(trial: Trial, after: PersonaMetric): boolean {
    const n = trial.samples.length;
    if (n < (this.opts.measureIntervals ?? DEFAULTS.measureIntervals)) return false;
    const max = Math.max(
      this.opts.measureIntervals ?? DEFAULTS.measureIntervals,
      this.opts.maxMeasureIntervals ?? DEFAULTS.maxMeasureIntervals,
    );
    return after.completed >= (this.opts.minFlows ?? DEFAULTS.minFlows) || n >= max;
  }

  /**
   * The FCT part of the decision: a revert reason when the metric rose beyond `threshold` and, where the engine
   * reports per-flow FCTs, the one-sided Mann-Whitney U test of the trial's flows against the baseline's gives
   * p < `significance` (persona-stats.ts); else a note when a rise beyond the threshold was within noise.
   */
  private fctVerdict(
    trial: Trial,
    after: PersonaMetric,
    threshold: number,
  ): { revert?: string; note?: string } | null {
    const worse = worseFct(after, trial.baseline, threshold);
    if (!worse) return null;
    const trialFcts = fctsOf(trial.samples);
    if (after.completed === 0 || !trialFcts || !trial.baselineFctsNs) return { revert: worse };
    const p = mannWhitneyGreaterP(trialFcts, trial.baselineFctsNs);
    const test = `one-sided Mann-Whitney p = ${p.toFixed(3)}, ${trialFcts.length} vs ${trial.baselineFctsNs.length} flows`;
    return p < (this.opts.significance ?? DEFAULTS.significance)
      ? { revert: `${worse} (${test})` }
      : { note: `${worse}, within noise (${test})` };
  }

  /** One measured interval of the running trial; ends it (keep or revert) when it is decided. */
  private async measure(obs: Observation, journal: Journaled<Verbs>, trial: Trial): Promise<void> {
    const sample = sampleOf(obs, trial.app);
    const measureIntervals = this.opts.measureIntervals ?? DEFAULTS.measureIntervals;
    // An interval in which the application neither completed nor was refused anything tells nothing (an emulator
    // whose applications stalled behind a busy machine): up to `measureIntervals` of them are passed over, later
    // ones count (an application the persona silenced entirely is still judged: "no flow completed").
    if (sample.completed + sample.refused === 0 && trial.skipped < measureIntervals) {
      trial.skipped++;
      return;
    }
    trial.samples.push(sample);
    const after = metricOf(trial.samples, trial.persona);
    const share = (m: PersonaMetric) => m.refused / Math.max(1, m.completed + m.refused);
    const refusals = share(after) > share(trial.baseline) + 0.01;
    if (!refusals && !this.measured(trial, after)) return;
    const threshold = this.opts.threshold ?? DEFAULTS.threshold;
    const fct = refusals ? null : this.fctVerdict(trial, after, threshold);
    const reason = refusals
      ? `refused share ${share(trial.baseline).toFixed(3)} -> ${share(after).toFixed(3)}`
      : (fct?.revert ??
        (trial.kind === "shape" ? noGain(after, trial.baseline, this.opts.refine?.shapeGain ?? 0) : null));
    const event: PersonaEvent = {
      timeNs: obs.timeNs,
      application: trial.app,
      event: reason ? "revert" : "keep",
      changes: trial.changes,
      before: trial.baseline,
      after,
      ...(!reason && fct?.note ? { reason: fct.note } : {}),
    };
    if (reason) {
      // The network may have changed under the trial (a link failed and the failover moved what crossed it): an undo
      // the engine refuses (a virtual link's old path is down) is counted, and the rest is still undone.
      const refused: string[] = [];
      await journal.rollback(trial.mark, (entry, e) => refused.push(`${entry.verb}: ${e.message}`));
      for (const r of trial.rules) this.rulesSet.delete(r);
      event.reason = trial.kind === "shape" ? `shaping: ${reason}` : reason;
      if (refused.length > 0) {
        event.failed = refused.length;
        event.reason += `; ${refused.length} undo call(s) refused (${refused[0]})`;
      }
    }
    this.events.push(event);
    if (trial.kind === "persona") this.status.set(trial.app, reason ? "reverted" : "kept");
    else if (reason) {
      this.shapeRefused.add(trial.app);
      for (const k of trial.shapedPairs ?? []) this.shaped.delete(k);
    }
    this.trial = null;
    this.history.clear(); // the next baseline is measured after this trial
  }
}

/** A pair the failover moves: its virtual link, if one carries it; `of`: the pair whose persona decides (key). */
interface Move {
  src: string;
  dst: string;
  virtualLink?: string;
  of?: string;
}

/**
 * The return directions of `moves` that cross the failed cable (`failed`: "u->v") on the default routes: a call's
 * response, and in the emulator every TCP segment's ACK, travel dst -> src, and until the default routes reconverge
 * they would stay on the failed gateway while the pair's own direction moved (measured in the emulator: the calls
 * after the failure reached their server over the moved path and waited for its SYN-ACK until reconvergence, 1 s).
 * A return direction with its own virtual link or route is left to the hook of the cable's other direction.
 */
function returnMoves(moves: readonly Move[], failed: string, obs: Observation, ctl: ControlPlane): Move[] {
  const [u, v] = failed.split("->") as [string, string];
  const cable = new Set([`${u}->${v}`, `${v}->${u}`]);
  const own = new Set([...obs.virtualLinks.map((x) => pairKey(x.src, x.dst)), ...obs.routes.keys()]);
  for (const m of moves) own.add(pairKey(m.src, m.dst));
  const out: Move[] = [];
  for (const m of moves) {
    const back = pairKey(m.dst, m.src);
    if (own.has(back)) continue;
    own.add(back);
    const path = ctl.defaultPath(m.dst, m.src);
    if (path && pathLinkKeys(path).some((k) => cable.has(k)))
      out.push({ src: m.dst, dst: m.src, of: pairKey(m.src, m.dst) });
  }
  return out;
}

/**
 * Removes a virtual link; false when it was gone already. The hook's Observation can be older than the network:
 * the emulator skips control steps while a decision runs, so a link a rollback removed since can still be listed
 * (personas-substrates-emulate: trading's links, rolled back 1.4 s before the gateway failed). The pair's route
 * is pinned either way; a link that is gone is not made again (its persona was reverted).
 */
async function removedNow(ctl: ControlPlane, id: string): Promise<boolean> {
  try {
    await ctl.removeVirtualLink(id);
    return true;
  } catch (e) {
    if (e instanceof NoPathError) return false;
    throw e;
  }
}

/** Makes one verb call; false when the control plane refused it (a ControlError). */
async function attemptCall(call: () => unknown): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return false;
  }
}

/** Why `after` did not gain at least `gain` (a fraction) on `before` by FCT, or null when it did. */
function noGain(after: PersonaMetric, before: PersonaMetric, gain: number): string | null {
  if (gain <= 0) return null;
  if (after.fctNs === null || before.fctNs === null) return "no FCT to measure a gain on";
  return after.fctNs > before.fctNs * (1 - gain)
    ? `no gain: FCT metric ${Math.round(before.fctNs)} -> ${Math.round(after.fctNs)} ns (a gain needs <= ${Math.round(before.fctNs * (1 - gain))})`
    : null;
}

/** Why `after` is worse than `before` by FCT, or null when it is not. */
function worseFct(after: PersonaMetric, before: PersonaMetric, threshold: number): string | null {
  if (after.completed === 0 && before.completed > 0) return "no flow completed";
  if (after.fctNs === null || before.fctNs === null) return null;
  return after.fctNs > before.fctNs * (1 + threshold)
    ? `FCT metric ${Math.round(before.fctNs)} -> ${Math.round(after.fctNs)} ns`
    : null;
}

/**
 * Applies the changes through the journal, in three steps: the firewall rules, then the QoS classes, then the paths
 * (virtual links, routes); the calls of a step are issued together, before any is awaited, so an engine that takes
 * wall time per call (the emulator) makes them at once: its firewall installs rules set together in one transaction
 * per namespace (no instant in which a default deny holds without the allows that go with it), and its classes and
 * tunnels go in side by side instead of one after another. The simulator makes the calls at one instant either way.
 * Returns how many calls the control plane refused (a ControlError).
 */
export async function applyChanges(ctl: ControlPlane, changes: readonly PersonaChange[]): Promise<number> {
  let failed = 0;
  /** Makes the call now (a verb that throws at once included); resolves to whether it succeeded. */
  const attempt = (call: () => unknown): Promise<boolean> => {
    let r: unknown;
    try {
      r = call();
    } catch (e) {
      r = Promise.reject(e);
    }
    return Promise.resolve(r).then(
      () => true,
      (e: unknown) => {
        if (!(e instanceof ControlError)) throw e;
        failed++;
        return false;
      },
    );
  };
  const step = (c: PersonaChange) => (c.verb === "setFirewall" ? 0 : c.verb === "setQos" ? 1 : 2);
  for (const k of [0, 1, 2]) {
    const issued: Promise<boolean>[] = [];
    // In the changes' order: a replaced virtual link is removed (and that awaited) before its successor and the
    // changes after it are issued, so the calls reach the control plane in the same order as one by one.
    for (const c of changes) {
      if (step(c) !== k) continue;
      if (c.verb === "createVirtualLink" && c.replaces !== undefined) {
        const id = c.replaces;
        if (!(await attempt(() => ctl.removeVirtualLink(id)))) continue;
      }
      issued.push(attempt(() => applyChange(ctl, c)));
    }
    await Promise.all(issued);
  }
  return failed;
}

/** The verb call of one change (a replaced virtual link's removal aside: {@link applyChanges} makes it). */
function applyChange(ctl: ControlPlane, c: PersonaChange): unknown {
  if (c.verb === "createVirtualLink") return ctl.createVirtualLink(c.src, c.dst, { path: c.path });
  if (c.verb === "setRoute") return ctl.setRoute({ src: c.src, dst: c.dst }, c.path);
  if (c.verb === "setQos") return ctl.setQos({ src: c.src, dst: c.dst }, c.qos, c.match);
  return ctl.setFirewall(c.rule);
}

/** The per-flow FCTs (ns) of the samples, null when one of them lacks them (the engine does not report them). */
function fctsOf(samples: readonly Sample[]): number[] | null {
  const out: number[] = [];
  for (const s of samples) {
    if (!s.fctsNs) return null;
    out.push(...s.fctsNs);
  }
  return out;
}

/** An application's interval from the Observation's applicationFlows (its pairs `"A->*"` and `"*->A"`). */
function sampleOf(obs: Observation, app: string): Sample {
  const s: Sample = { completed: 0, refused: 0, p99FctNs: null, meanFctNs: null, fctsNs: [] };
  let sum = 0;
  for (const f of obs.applicationFlows ?? []) {
    if (!applicationEnds(f.application)?.includes(app)) continue;
    s.completed += f.completed;
    s.refused += f.refused;
    if (f.p99FctNs !== null) s.p99FctNs = Math.max(s.p99FctNs ?? 0, f.p99FctNs);
    if (f.meanFctNs !== null) sum += f.meanFctNs * f.completed;
    if (f.completed > 0 && f.fctsNs === undefined) s.fctsNs = null;
    else if (s.fctsNs && f.fctsNs) s.fctsNs.push(...f.fctsNs);
  }
  if (s.completed > 0) s.meanFctNs = sum / s.completed;
  return s;
}

/** The metric over samples (see the module doc). */
export function metricOf(samples: readonly Sample[], persona: Persona): PersonaMetric {
  const completed = samples.reduce((a, s) => a + s.completed, 0);
  const refused = samples.reduce((a, s) => a + s.refused, 0);
  let fctNs: number | null = null;
  if (persona.desired.routing === "latency") {
    const p99s = samples.flatMap((s) => (s.p99FctNs === null ? [] : [s.p99FctNs]));
    if (p99s.length > 0) fctNs = p99s.reduce((a, b) => a + b, 0) / p99s.length;
  } else if (completed > 0) {
    fctNs = samples.reduce((a, s) => a + (s.meanFctNs ?? 0) * s.completed, 0) / completed;
  }
  return { completed, refused, fctNs };
}

/** The personas of validated params: every entry a document (experiments/ reads the files). */
function documents(personas: readonly (string | Persona)[]): Persona[] {
  return personas.map((p, i) => {
    if (typeof p === "string")
      throw new Error(`persona: personas[${i}] is the file "${p}", which the experiment did not read`);
    return p;
  });
}

/**
 * The persona policy in a config: `name: persona`, {@link PERSONA_PARAMS}, shortest paths beneath; with the
 * refinement (`refine`) a predictor over pair volumes (config `predictor`, default EWMA), which only it reads:
 * without it none is built.
 */
export const personaPolicy = definePolicy({
  name: "persona",
  doc: "Applies each application's persona (overlay, QoS, firewall, routes) through a journal, measures it, and reverts it when the application got worse.",
  params: PERSONA_PARAMS,
  forecasts: "pair-volumes",
  usesPredictor: (p) => p.refine !== null,
  verbs: ["createVirtualLink", "removeVirtualLink", "setRoute", "setQos", "setFirewall"],
  create: (p, ctx) =>
    new PersonaPolicy(documents(p.personas), {
      threshold: p.threshold,
      baselineIntervals: p.baselineIntervals,
      measureIntervals: p.measureIntervals,
      minFlows: p.minFlows,
      maxMeasureIntervals: p.maxMeasureIntervals,
      significance: p.significance,
      qosForeignShare: p.qosForeignShare,
      qosPerApplication: p.qosPerApplication,
      refine: p.refine,
      ...(ctx.predictor ? { predictor: ctx.predictor } : {}),
      kPaths: p.kPaths ?? ctx.kPaths,
    }),
});
