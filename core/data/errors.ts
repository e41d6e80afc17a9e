/** A problem in input data, located precisely enough that a person can open the file and fix it. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: string | undefined,
    readonly reason: string,
  ) {
    const where = [file, line === undefined ? undefined : `line ${line}`, column === undefined ? undefined : `column "${column}"`]
      .filter((part) => part !== undefined)
      .join(", ");
    super(`${where}: ${reason}`);
    this.name = "DataError";
  }
}

/** A data set too small for one step of a tool: names the step, what it needs and what the data has. */
export class InsufficientDataError extends Error {
  constructor(
    readonly step: string,
    readonly needed: string,
    readonly found: string,
  ) {
    super(`${step}: needs ${needed}, but the data has ${found}`);
    this.name = "InsufficientDataError";
  }
}
