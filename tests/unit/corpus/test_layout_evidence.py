"""Paragraph breaks come from layout evidence, not from a column measured wrong.

Each page here is made for its case (no page's strings): a column 13 wide whose marks are set
half-width, as narrow newspaper columns often set them, so a line thick with quotes and commas holds
more characters than a plain full line.
"""

from __future__ import annotations

import pytest

from corpus.ingest import read_page_text

HEADLINE = "某市推进社区养老服务"
# A paragraph whose middle runs through lines thick with quotes (wider when counted in characters),
# then a plain full line that ends a sentence, then a plain full line that goes on with the next one.
QUOTED_RUN = [
    "  会议指出，全市各级部门要",
    "把“放心养老”“就近养老”作为",
    "重点，对标“一站式”“全天候”",
    "的要求，落实“一人一档”“一户",
    "一策”，把“民生账”算细算实，",
    "持续提升服务水平和质量。要高",
    "质量推进社区养老服务站建设。",
    "把服务站建设与老旧小区改造统",
    "筹起来，逐步扩大服务覆盖面。",
    "  会议要求，各区要压实责任。",
]


def paragraphs(lines: list[str]) -> list[str]:
    (article,) = read_page_text("\n".join([HEADLINE, *lines]) + "\n")
    return [p.text for p in article.paragraphs]


def test_a_plain_full_line_after_a_run_of_quoted_lines_does_not_end_its_paragraph():
    got = paragraphs(QUOTED_RUN)
    assert len(got) == 2, got
    assert "建设。把服务站" in got[0]


def test_the_same_sentence_end_on_a_short_line_still_ends_the_paragraph():
    lines = list(QUOTED_RUN)
    lines[6] = "质量推进服务站建设。"
    lines[7] = "  把服务站建设与老旧小区改"
    lines[8] = "造统筹起来，逐步扩大服务覆盖"
    lines.insert(9, "面。")
    got = paragraphs(lines)
    assert len(got) == 3, got
    assert got[1].startswith("把服务站建设")


# A story whose opening sentence (近日，…) says nothing but its headline again, ending right at the
# column's end, with the next paragraph's first line full and unindented (OCR lost the indent).
LEDE_PAGE = [
    "  近日，某市民政局召开全",
    "市社区养老服务工作推进会。",
    "会议由副局长主持，各区民政局",
    "负责同志参加会议，交流了做法",
    "和经验，并提出了意见建议。",
    "  会议要求，各区要压实责任。",
]


def test_a_lede_that_only_restates_its_headline_is_a_paragraph_by_itself():
    headline = "某市民政局召开全市社区养老服务工作推进会"
    (article,) = read_page_text("\n".join([headline, *LEDE_PAGE]) + "\n")
    got = [p.text for p in article.paragraphs]
    assert got[0] == "近日，某市民政局召开全市社区养老服务工作推进会。", got
    assert len(got) == 3, got


def test_a_lede_that_says_more_than_its_headline_runs_on():
    (article,) = read_page_text("\n".join(["某市部署今冬明春救助工作", *LEDE_PAGE]) + "\n")
    got = [p.text for p in article.paragraphs]
    assert len(got) == 2, got
    assert got[0].startswith("近日，某市民政局召开全市社区养老服务工作推进会。会议由副局长")


def test_the_lines_above_a_dashed_subtitle_are_all_the_title():
    from corpus.segment import title_and_subtitle

    assert title_and_subtitle(["东岭县推进农村", "幸福院全覆盖", "——互助幸福院建到村口"], "") == (
        "东岭县推进农村幸福院全覆盖",
        "互助幸福院建到村口",
    )


def test_a_headline_broken_inside_a_word_runs_on_and_one_broken_between_words_keeps_its_subtitle():
    from corpus.segment import title_and_subtitle

    assert title_and_subtitle(["某县加快推进农村养", "老服务设施建设"], "") == ("某县加快推进农村养老服务设施建设", None)
    assert title_and_subtitle(["全省养老服务设施建设提速", "上半年新建互助幸福院三百所"], "") == (
        "全省养老服务设施建设提速",
        "上半年新建互助幸福院三百所",
    )


def test_a_headline_whose_break_the_lede_prints_together_runs_on():
    from corpus.segment import title_and_subtitle

    body = "近日，某市今年新建的两所区域养老服务中心投入使用。"
    assert title_and_subtitle(["某市新增两所", "区域养老服务中心"], body) == ("某市新增两所区域养老服务中心", None)
    assert title_and_subtitle(["某市新增两所", "区域养老服务中心"], "") == ("某市新增两所", "区域养老服务中心")


# Two stories one after the other, the second's headline as wide as a body line and with no mark in
# it, its first line indented by one column only: its lede taking up its words is what tells it.
STACKED = """江北区试点社区议事厅
  江北区在二十个社区试点设立
议事厅，居民可以就停车、加装
电梯等事项提出议题，每月开放
一次，议题由居民投票确定。试
点以来共办结议题一百三十项。
北碚区为独居老人安装烟感报警器
  北碚区近日为辖区内独居老人
免费安装烟感报警器八百个，报
警信息可实时推送至社区网格员
手机。
"""


def test_a_headline_as_wide_as_the_column_is_told_by_its_lede_taking_up_its_words():
    articles = read_page_text(STACKED)
    assert [a.title for a in articles] == ["江北区试点社区议事厅", "北碚区为独居老人安装烟感报警器"]
    assert articles[0].paragraphs[-1].text.endswith("一百三十项。")


CAPTIONED = """宁夏推进社区养老服务站建设
  本报银川3月2日电（记者 何 平）宁夏今年将
新建社区养老服务站一百二十个。
各服务站配备助餐、助
浴设施，由专业机构运
营，老人可就近享受服
务。
社区工作人员在服务站
为老人讲解补贴政策。
（王丽 摄）
自治区民政厅表示，
将对服务站运营情况
开展年度评估，评估
结果向社会公开，并
与运营补贴挂钩。
各市县民政部门要在
今年六月底前完成选
址工作。
（据宁夏回族自治区民政厅）
"""


@pytest.mark.parametrize(
    "page",
    [CAPTIONED, CAPTIONED.replace("为老人讲解补贴政策。\n（王丽 摄）", "为老人讲解补贴政策。（王丽 摄）")],
    ids=["credit on its own line", "credit after the text"],
)
def test_a_caption_without_tu_wei_is_set_aside_back_to_its_fresh_line(page: str):
    (article,) = read_page_text(page)
    texts = [p.text for p in article.paragraphs]
    assert not any("讲解补贴政策" in t or "摄" in t for t in texts), texts
    assert texts[1].startswith("自治区民政厅表示，将对服务站"), texts
    assert any("社区工作人员在服务站为老人讲解补贴政策" in c for c in article.captions), article.captions


def test_a_credit_under_a_paragraph_whose_last_sentence_starts_mid_line_takes_no_text():
    page = CAPTIONED.replace("社区工作人员在服务站\n为老人讲解补贴政策。", "今年还将培训护理员。社\n区工作人员要持证上岗。")
    (article,) = read_page_text(page)
    assert any("社区工作人员要持证上岗。" in p.text for p in article.paragraphs)


# A narrow column: numbers broken across lines, and after an attribution the next story's two-line
# headline, whose first line ends on a comma and reaches past the column, its second ending in ？.
NARROW = """南湖区推广家庭养老床位
本报讯（记者 郑宇）南湖
区今年推广家庭养老床
位，已为失能老人安装
护理床和呼叫设备共 3
20 张，今年区财政安排
专项资金用于补贴，共 1
.2 万元。
（据南湖区民政局）
社区食堂开到老人家门口，
老人吃饭还难吗？
秀洲区今年新开社区
食堂十八家，老人就餐
可享八折优惠。
食堂由街道统一招标，
菜价每季度公示一次，
接受居民监督。
"""


@pytest.mark.parametrize("left,right", [("覆盖率达到 10", "0%，"), ("共 14", "76 户"), ("资金 2.", "1 万元"), ("资金 1", ".6 万元")])
def test_a_number_broken_across_lines_is_a_word_split(left: str, right: str):
    from corpus.layout import _Scores, measure, text_lines

    lines = [measure(p) for p in text_lines(f"{left}\n{right}\n")]
    assert _Scores(lines).splits_word(1)


def test_a_number_broken_across_lines_runs_on():
    first = read_page_text(NARROW)[0]
    text = "".join(p.text for p in first.paragraphs)
    assert "共320张" in text and "共1.2万元" in text, [p.text for p in first.paragraphs]
    assert not any(p.heading for p in first.paragraphs)


def test_a_headline_after_an_attribution_holding_a_comma_is_one_title():
    articles = read_page_text(NARROW)
    assert [a.title for a in articles] == ["南湖区推广家庭养老床位", "社区食堂开到老人家门口，老人吃饭还难吗？"]
    assert articles[1].subtitle is None
    assert articles[1].paragraphs[0].text.startswith("秀洲区今年新开社区食堂")


def test_a_headline_line_closing_on_a_prepositional_phrase_runs_on():
    from corpus.segment import title_and_subtitle

    assert title_and_subtitle(["安平县为留守儿童", "建成关爱服务站"], "") == ("安平县为留守儿童建成关爱服务站", None)
    assert title_and_subtitle(["座谈会在京召开", "与会代表建言献策"], "") == ("座谈会在京召开", "与会代表建言献策")
