/** A tiny KuaiRand-shaped data set, small enough to check by hand. */
export const LOG_HEADER =
  "user_id,video_id,date,hourmin,time_ms,is_click,is_like,is_follow,is_comment,is_forward,is_hate,long_view,play_time_ms,duration_ms,profile_stay_time,comment_stay_time,is_profile_enter,is_rand,tab";

// 2022-04-25 00:00 in China Standard Time (UTC+8)
export const DAY0 = Date.UTC(2022, 3, 25) - 8 * 3_600_000;
export const HOUR = 3_600_000;

export function logRow(user: number, video: number, ts: number, labels: { click?: 0 | 1; like?: 0 | 1; long_view?: 0 | 1; hate?: 0 | 1 } = {}, tab = 1): string {
  return [user, video, 20220425, 0, ts, labels.click ?? 0, labels.like ?? 0, 0, 0, 0, labels.hate ?? 0, labels.long_view ?? 0, 1000, 10000, 0, 0, 0, 0, tab].join(",");
}

const USER_HEADER =
  "user_id,user_active_degree,is_lowactive_period,is_live_streamer,is_video_author,follow_user_num,follow_user_num_range,fans_user_num,fans_user_num_range,friend_user_num,friend_user_num_range,register_days,register_days_range," +
  Array.from({ length: 18 }, (_, i) => `onehot_feat${i}`).join(",");

function userRow(id: number, degree: string): string {
  return [id, degree, 0, 1, 1, 10, '"(10,50]"', 5, '"[1,10)"', 2, '"[1,5)"', 100, "91-180", ...Array.from({ length: 18 }, (_, i) => (i === 4 ? "" : i))].join(",");
}

const ITEM_HEADER = "video_id,author_id,video_type,upload_dt,upload_type,visible_status,video_duration,server_width,server_height,music_id,music_type,tag";
const STAT_HEADER = "video_id,counts,show_cnt,show_user_num,report_user_num,reduce_similar_user_num";

export function kuairandFiles(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    "log_standard.csv": [
      LOG_HEADER,
      // deliberately out of time order: the loader must sort
      logRow(1, 11, DAY0 + 30 * HOUR, { click: 1, like: 1 }),
      logRow(1, 10, DAY0 + 1 * HOUR, { click: 1, long_view: 1 }),
      logRow(2, 10, DAY0 + 2 * HOUR, { click: 0 }, 0),
      logRow(3, 12, DAY0 + 50 * HOUR, { click: 1, hate: 1 }),
    ].join("\n"),
    "user_features.csv": [USER_HEADER, userRow(1, "full_active"), userRow(2, "high_active")].join("\n"),
    "video_features_basic.csv": [
      ITEM_HEADER,
      "10,500,NORMAL,2022-04-10,Web,0.0,10000.0,720.0,1280.0,1,9.0,\"3,9\"",
      "11,501,NORMAL,2022-04-11,Web,0.0,,720.0,1280.0,2,9.0,39",
      "12,500,AD,2022-04-11,Web,0.0,20000.0,720.0,1280.0,3,,",
      "13,502,NORMAL,2022-04-12,Web,0.0,5000.0,720.0,1280.0,4,9.0,9",
    ].join("\n"),
    "video_features_statistic.csv": [STAT_HEADER, "10,1,100,100,0,1", "11,1,100,100,0,5", "12,1,100,100,1,9", "13,1,100,100,0,0"].join("\r\n"),
    ...overrides,
  };
}
