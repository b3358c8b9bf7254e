import { defineStore } from "pinia";
import { ref } from "vue";
import { latchkey } from "../latchkey";
import { emptyDraft, surveyFromPost, surveyToPostBody, type Survey, type SurveyDraft } from "../surveys";

const PAGE = 50;

export const useSurveysStore = defineStore("surveys", () => {
  const surveys = ref<Survey[]>([]);
  /** The id to ask for the next, older page with; null when there is none. */
  const older = ref<number | null>(null);
  const loaded = ref(false);
  /** Kept across a forced new login, so a survey being written is not lost. */
  const draft = ref<SurveyDraft>(emptyDraft());

  /** The newest surveys: `GET /api/posts` is public, newest first. */
  async function load(): Promise<void> {
    const page = await latchkey().api.GET("/api/posts", { params: { query: { limit: PAGE } } });
    surveys.value = page.posts.flatMap((post) => surveyFromPost(post) ?? []);
    older.value = page.next ?? null;
    loaded.value = true;
  }

  async function loadOlder(): Promise<void> {
    if (older.value === null) return;
    const page = await latchkey().api.GET("/api/posts", { params: { query: { limit: PAGE, before: older.value } } });
    surveys.value.push(...page.posts.flatMap((post) => surveyFromPost(post) ?? []));
    older.value = page.next ?? null;
  }

  /** Saves the draft as a post (the caller's access token in `Authorization: Bearer`). */
  async function create(): Promise<Survey> {
    const post = await latchkey().api.POST("/api/posts", { body: { body: surveyToPostBody(draft.value) } });
    const survey = surveyFromPost(post);
    if (!survey) throw new Error("latchkey stored the survey in a shape this app cannot read back");
    surveys.value.unshift(survey);
    draft.value = emptyDraft();
    return survey;
  }

  function forgetDraft(): void {
    draft.value = emptyDraft();
  }

  return { surveys, older, loaded, draft, load, loadOlder, create, forgetDraft };
});
