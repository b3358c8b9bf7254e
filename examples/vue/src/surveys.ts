// latchkey has no survey API. Its example resource is posts (`/api/posts`: a text body,
// an author, a date), so a survey is stored as a post whose text spells it out:
//
//   Survey: Favourite editor
//   1. Which editor do you use?
//      - Vim
//      - Emacs
//
// Readable as a plain post in latchkey's own web app, and parsed back here. Posts that
// are not surveys in this shape are left out of the list.

export interface Question {
  text: string;
  choices: string[];
}

export interface SurveyDraft {
  name: string;
  questions: Question[];
}

export interface Survey extends SurveyDraft {
  /** The post's id. */
  id: number;
  author: string;
  createdAt: string;
}

/** A post as `GET /api/posts` lists it (the fields this app reads). */
export interface PostLike {
  id: number;
  body: string;
  author: { username: string };
  created_at: string;
}

const HEADER = "Survey: ";
const QUESTION = /^(\d+)\. (.+)$/;
const CHOICE = /^ {3}- (.+)$/;

export function emptyDraft(): SurveyDraft {
  return { name: "", questions: [{ text: "", choices: [] }] };
}

/** What is wrong with a draft, in words, or null when it can be saved. */
export function draftProblem(draft: SurveyDraft): string | null {
  if (clean(draft.name) === "") return "Give the survey a name.";
  if (draft.questions.length === 0) return "Add at least one question.";
  for (const [index, question] of draft.questions.entries()) {
    if (clean(question.text) === "") return `Question ${index + 1} has no text.`;
    if (question.choices.map(clean).filter(Boolean).length < 2) return `Question ${index + 1} needs at least two choices.`;
  }
  return null;
}

export function surveyToPostBody(draft: SurveyDraft): string {
  const lines = [HEADER + clean(draft.name)];
  draft.questions.forEach((question, index) => {
    lines.push(`${index + 1}. ${clean(question.text)}`);
    for (const choice of question.choices.map(clean).filter(Boolean)) lines.push(`   - ${choice}`);
  });
  return lines.join("\n");
}

/** The survey a post holds, or null when the post is something else. */
export function surveyFromPost(post: PostLike): Survey | null {
  const [first, ...rest] = post.body.split("\n");
  if (!first?.startsWith(HEADER)) return null;
  const questions: Question[] = [];
  for (const line of rest) {
    const question = QUESTION.exec(line);
    const choice = CHOICE.exec(line);
    if (question?.[2] !== undefined) questions.push({ text: question[2], choices: [] });
    else if (choice?.[1] !== undefined && questions.length > 0) questions[questions.length - 1]?.choices.push(choice[1]);
    else return null;
  }
  if (questions.length === 0) return null;
  return { id: post.id, name: first.slice(HEADER.length), questions, author: post.author.username, createdAt: post.created_at };
}

/** One line of plain text: the format above is line based. */
function clean(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
