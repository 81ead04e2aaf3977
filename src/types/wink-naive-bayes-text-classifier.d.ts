declare module 'wink-naive-bayes-text-classifier' {
  interface NaiveBayesTextClassifier {
    learn(input: string | string[], label: string): boolean;
    consolidate(): boolean;
    computeOdds(input: string | string[]): Array<[string, number]>;
    predict(input: string | string[]): string;
    defineConfig(config: { considerOnlyPresence?: boolean; smoothingFactor?: number }): boolean;
    definePrepTasks(tasks: Array<(input: string) => string[]>): number;
    exportJSON(): string;
    importJSON(json: string): boolean;
    reset(): boolean;
  }
  function create(): NaiveBayesTextClassifier;
  export default create;
}
